"""One start plan: `run --dry-run` renders the plan a real start executes. For each network mode
and with -p and -v, the dry run must list the same steps, phase by phase and in the same order, as
the trace a real start of the same spec writes (runtime/startplan.py)."""

import pytest

from minicontainer import trace
from minicontainer.runtime.dryrun import dry_run_lines
from minicontainer.specs.run import from_options

CASES = {
    "none": dict(network="none"),
    "host": dict(network="host"),
    "bridge": dict(),
    "bridge -p": dict(publish=["80"]),
    "bridge -v": dict(volume=["{tmp}/src:/data:ro", "/scratch"]),  # {tmp}/src does not exist: -v makes it
    "user network": dict(network="planlab"),  # and the embedded DNS server
}


def _kinds(lines):
    return [(line["phase"], line.get("step", "")) for line in lines if line["phase"] not in ("started", "failed")]


@pytest.mark.parametrize("case", CASES)
def test_dry_run_lists_the_steps_a_real_start_applies(mc_sandbox, case, tmp_path):
    rt = mc_sandbox.runtime
    if case == "user network":
        mc_sandbox.create_network("planlab")  # the sandbox removes it at its end
    options = {k: [v.format(tmp=tmp_path) for v in vs] if k == "volume" else vs for k, vs in CASES[case].items()}
    spec = from_options("busybox", ["sleep", "30"], detach=True, **options)
    dry = _kinds(dry_run_lines(rt, spec)[0])
    container = mc_sandbox.run("busybox", ["sleep", "30"], network=options.get("network", "bridge"),
                               ports=options.get("publish", ()), volumes=options.get("volume", ()))
    with container:
        real = _kinds(trace.read(rt.containers.trace_path(container.id)))
    assert real == dry
    assert ("files", "WriteFile") in real and ("container", "PivotRoot") in real
    if case != "none" and case != "host":
        assert ("host", "CreateVeth") in real
    assert (("host", "EmbeddedDNS") in real) == (case == "user network")
    if case == "bridge -p":
        assert ("host", "PublishRules") in real and ("host", "StartProxy") in real
    if case == "bridge -v":
        assert real.count(("container", "BindMount")) == 5  # the two volumes and the three /etc files
        assert (tmp_path / "src").is_dir()
