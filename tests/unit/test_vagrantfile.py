"""The Vagrantfile is valid Vagrant configuration (CI installs Debian's vagrant package; `validate
--ignore-provider` needs no VirtualBox or libvirt) and provisions with the README's own command."""

import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO

VAGRANT_DIR = os.path.join(REPO, "vagrant")


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is not installed (.ci/run installs it)")
def test_vagrant_validates_the_vagrantfile(tmp_path):
    env = {**os.environ, "VAGRANT_CWD": VAGRANT_DIR, "VAGRANT_DOTFILE_PATH": str(tmp_path / "dot"),
           "VAGRANT_HOME": str(tmp_path / "home"), "VAGRANT_CHECKPOINT_DISABLE": "1"}
    proc = subprocess.run(["vagrant", "validate", "--ignore-provider"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0 and "validated successfully" in proc.stdout, proc.stdout + proc.stderr


def test_vagrant_provisions_with_the_readme_setup_command():
    with open(os.path.join(VAGRANT_DIR, "Vagrantfile")) as f:
        vagrantfile = f.read()
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    inline = re.search(r'config\.vm\.provision "shell".*inline: "([^"]+)"', vagrantfile).group(1)
    assert "scripts/setup" in inline and "privileged: true" in vagrantfile
    assert "sudo scripts/setup" in readme  # the same script, run as root, is what users are told to run
    assert 'config.vm.box = "debian/bookworm64"' in vagrantfile  # Debian 12, as CI
