"""How the firewall backend is chosen (as Docker: whatever `iptables` on PATH is) and named in the
commands we print. Real binaries behind a PATH of the test's own, no mocks."""

import os
import shutil

import pytest

from minicontainer.errors import DaemonError
from minicontainer.network import backends
from minicontainer.network.ports import PublishRules


@pytest.fixture
def path_of(tmp_path, monkeypatch):
    """PATH holding only an `iptables` made by the test; host_backend() asked afresh."""
    def make(target: str | None = None, script: str | None = None) -> None:
        bindir = tmp_path / f"bin{len(os.listdir(tmp_path))}"
        bindir.mkdir()
        link = bindir / "iptables"
        if target:
            link.symlink_to(target)
        elif script:
            link.write_text(script)
            link.chmod(0o755)
        monkeypatch.setenv("PATH", str(bindir))
        backends.host_backend.cache_clear()
    yield make
    backends.host_backend.cache_clear()


def _multi(name: str) -> str:
    for d in ("/usr/sbin", "/sbin", "/usr/bin"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    pytest.skip(f"{name} is not installed here")


def test_the_link_names_the_backend(path_of):
    path_of(target=_multi("xtables-nft-multi"))
    assert backends.host_backend() == "nft"
    path_of(target=_multi("xtables-legacy-multi"))
    assert backends.host_backend() == "legacy"


def test_a_wrapper_script_is_asked_for_its_version(path_of):
    path_of(script="#!/bin/sh\necho 'iptables v1.8.9 (nf_tables)'\n")
    assert backends.host_backend() == "nft"


def test_no_iptables_at_all_is_legacy(path_of, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    backends.host_backend.cache_clear()
    assert shutil.which("iptables") is None and backends.host_backend() == "legacy"


def test_the_command_a_user_types(path_of):
    path_of(target=_multi("xtables-nft-multi"))
    assert backends.iptables_command("nft") == "iptables"
    assert backends.iptables_command("legacy") == "iptables-legacy"


def test_a_backend_asked_for(monkeypatch):
    monkeypatch.setenv(backends.ENV, "NFT")
    assert backends.requested_backend() == "nft"
    monkeypatch.setenv(backends.ENV, "nftables")
    with pytest.raises(DaemonError, match="invalid iptables backend 'nftables': legacy or nft"):
        backends.requested_backend()
    monkeypatch.delenv(backends.ENV)
    assert backends.requested_backend() is None


def test_a_step_journaled_before_the_choice_is_legacy():
    """A container started by a minicontainer that only had the legacy backend: its teardown must
    look for its rules there."""
    step = PublishRules("MC", "mc0", "tcp", "", 8080, "172.17.0.2", 80)
    assert step.backend == "legacy"
