"""Every command of the README's tutorial, run in order on this machine (in the test's own state
root, bridge, subnet and chains), prints output of the shape the README shows."""

import re

from tests.readme_tutorial import MACHINE_DEPENDENT, README, Session, parse, shapes


def test_readme_tutorial_runs_as_shown(mc, tmp_path):
    with open(README) as f:
        steps = parse(f.read())
    assert len(steps) >= 25, "the tutorial lost its commands?"
    (tmp_path / "work").mkdir()
    session = Session(str(tmp_path / "work"), mc.env)
    # The README shows the default names; this run has its own (so it never touches mc0 or MC).
    ours_to_readme = {mc.prefix: "MC", mc.bridge: "mc0"}
    for step in steps:
        command = re.sub(r"\bmc0\b", mc.bridge, step.command)
        command = re.sub(r"(?<= )MC\b", mc.prefix, command)
        out = session.run_step(command)
        if any(marker in step.command for marker in MACHINE_DEPENDENT):
            assert out, f"$ {step.command}\nprinted nothing"
            continue
        assert shapes(out, ours_to_readme) == shapes(step.expected), (
            f"$ {step.command}\nREADME shows:\n" + "\n".join(step.expected) + "\nbut it printed:\n" + "\n".join(out))


def test_the_shape_comparison_can_fail():
    """A different message, a missing line or another column is a mismatch; ids, addresses,
    counts and times are not."""
    readme = ["80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080"]
    assert shapes(["80/tcp -> 0.0.0.0:49153", "80/tcp -> [::]:49153"]) == shapes(readme)
    assert shapes(["80/tcp -> 0.0.0.0:8080"]) != shapes(readme)
    assert shapes(["touch: /data/nope: Permission denied"]) != shapes(["touch: /data/nope: Read-only file system"])
    assert shapes(["pid 1 on 0123456789ab"]) == shapes(["pid 1 on ba9876543210"])
