"""Bash completion offers the names in the state root: containers after `start`, networks after
`network rm`, volumes after `volume inspect` (it runs `minicontainer` from PATH, as a user's shell)."""

import shutil

import pytest

from tests.helpers.completion import complete


@pytest.mark.skipif(shutil.which("minicontainer") is None, reason="scripts/setup puts minicontainer on PATH")
def test_completion_offers_names_from_the_state_root(mc, tmp_path):
    script = tmp_path / "minicontainer.bash"
    script.write_text(mc.ok("completion", "bash"))
    mc.ok("create", "--name", "compl-box", "busybox", "true")
    mc.ok("network", "create", "compl-net")
    mc.ok("volume", "create", "compl-vol")
    assert complete(script, "minicontainer start compl", mc.env) == ["compl-box"]
    assert complete(script, "minicontainer network rm compl", mc.env) == ["compl-net"]
    assert complete(script, "minicontainer volume inspect compl", mc.env) == ["compl-vol"]
    mc.ok("rm", "compl-box")
    mc.ok("volume", "rm", "compl-vol")
