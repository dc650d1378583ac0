"""Median wall time of container starts (on each firewall backend too, scripts/benchfw.py; how soon `trace` is ready, scripts/benchtrace.py), what confinement costs and holds (scripts/benchconfine.py), the read-only commands (scripts/benchreadonly.py), the Engine API service against the CLI (scripts/benchapi.py), the scale figures (--scale N, scripts/benchscale.py), the memory of one idle supervisor, a lookup through the
embedded DNS server and the memory it adds (scripts/benchdns.py), TCP throughput
through published ports (scripts/benchnet.py), the speed of cp (scripts/benchcp.py) and of pull
(scripts/benchpull.py).

Each figure runs the installed `minicontainer` command (what a user types) in a throwaway state
root; Docker's figure is added when a Docker engine answers on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed_runs(cmd: list[str], runs: int, env: dict) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def report(label: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    p90 = ms[int(len(ms) * 0.9) - 1]
    print(f"{label:<44} median {statistics.median(ms):7.1f} ms   min {ms[0]:7.1f}   p90 {p90:7.1f}   (n={len(ms)})")


def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def supervisor_rss(mc: list[str], env: dict) -> float:
    import psutil
    cid = subprocess.run([*mc, "run", "-d", "busybox", "sleep", "60"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    try:
        pid = int(subprocess.run([*mc, "inspect", "-f", "{{.State.Pid}}", cid], env=env, check=True,
                                 capture_output=True, text=True).stdout)
        return psutil.Process(pid).parent().memory_info().rss / 2**20
    finally:
        subprocess.run([*mc, "rm", "-f", cid], env=env, capture_output=True)


def connect_cycle(mc: list[str], env: dict, runs: int) -> tuple[list[float], list[float]]:
    """A running container on the default bridge connected to a second network and disconnected
    again, `runs` times: the live hot-plug of a veth (the second network's bridge is up already)."""
    subprocess.run([*mc, "network", "create", "--subnet", "10.252.0.0/24", "mcbenchnet"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    cid = subprocess.run([*mc, "run", "-d", "--net=bridge", "busybox", "sleep", "600"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    connects, disconnects = [], []
    try:
        subprocess.run([*mc, "network", "connect", "mcbenchnet", cid], env=env, check=True)  # brings its bridge up
        subprocess.run([*mc, "network", "disconnect", "mcbenchnet", cid], env=env, check=True)
        for _ in range(runs):
            connects += timed_runs([*mc, "network", "connect", "mcbenchnet", cid], 1, env)
            disconnects += timed_runs([*mc, "network", "disconnect", "mcbenchnet", cid], 1, env)
    finally:
        subprocess.run([*mc, "rm", "-f", cid], env=env, capture_output=True)
        subprocess.run([*mc, "network", "rm", "mcbenchnet"], env=env, capture_output=True)
    return connects, disconnects


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-throughput", action="store_true", help="skip the iperf3 measurements")
    ap.add_argument("--no-copy", action="store_true", help="skip the 512 MiB cp measurements")
    ap.add_argument("--no-pull", action="store_true", help="skip the registry pull measurements")
    ap.add_argument("--firewall-only", action="store_true", help="only the start cost on each firewall backend")
    ap.add_argument("--api-only", action="store_true", help="only the Engine API service against the CLI")
    ap.add_argument("--scale", type=int, metavar="N", help="only the scale figures, with N containers (the issue's: 250)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("scripts/bench: run as root", file=sys.stderr)
        return 1
    mc = [shutil.which("minicontainer") or sys.exit("minicontainer not on PATH: run scripts/setup")]
    # Byte-compile first: with PYTHONDONTWRITEBYTECODE set, edited modules would be recompiled every run.
    import minicontainer
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.dirname(minicontainer.__file__)], check=True,
                   stdout=subprocess.DEVNULL)
    root = tempfile.mkdtemp(prefix="mc-bench-")
    env = {**os.environ, "MINICONTAINER_ROOT": root}
    try:
        subprocess.run([*mc, "run", "--rm", "busybox", "true"], env=env, check=True)  # build the image, warm caches
        print(f"minicontainer, {os.cpu_count()} cores, {args.runs} runs each")
        if args.scale:
            from benchscale import report as scale_report
            from benchscale import scale_figures
            # on a bridge of the benchmark's own, removed at the end
            env.update(MINICONTAINER_BRIDGE="mcbench0", MINICONTAINER_SUBNET="10.254.0.0/16",
                       MINICONTAINER_CHAIN_PREFIX="MCBENCH")
            scale_report(args.scale, scale_figures(mc, env, args.scale))
            return 0
        from benchapi import api_figures
        from benchapi import report as api_report
        api_report(api_figures(mc, env, args.runs))
        if args.api_only:
            return 0
        from benchfw import backend_figures
        from benchfw import report as backend_report
        print("firewall backends (rules through python-iptables on legacy, iptables-nft-restore on nft):")
        backend_report(backend_figures(mc, args.runs))
        from benchtrace import ready_times
        ready = sorted(t * 1000 for t in ready_times(mc, 10))
        print(f"{'trace ready to capture (its table made)':<44} median {statistics.median(ready):7.1f} ms   "
              f"min {ready[0]:7.1f}   (n={len(ready)})")
        if args.firewall_only:
            return 0
        for net in ("none", "host"):
            report(f"run --rm --net={net} busybox true", timed_runs([*mc, "run", "--rm", f"--net={net}", "busybox", "true"], args.runs, env))
        from benchconfine import STATS_CONTAINERS, cgroup_cost, cpus_held, start_costs, stats_time
        print("confinement (run --rm --net=none busybox true, interleaved):")
        for label, ms in start_costs(mc, env, args.runs).items():
            print(f"  {label:<42} median {ms:7.1f} ms")
        cost = cgroup_cost(args.runs)
        if cost is None:
            print("  no cgroups on this machine")
        else:
            print(f"  {'cgroup made (limits, devices) and removed':<42} median {cost[0]:7.2f} ms")
            print(f"  {'a process moving itself into it':<42} median {cost[1]:7.2f} ms")
        print(f"{f'stats --no-stream, {STATS_CONTAINERS} containers':<44} median {stats_time(mc, env, 10):7.1f} ms   (n=10)")
        held = cpus_held(mc, env)
        print(f"{'--cpus 0.5: a busy loop got':<44} " + (f"{held:7.2f} CPUs" if held is not None else "no cgroups"))
        # Bridge mode in a network of the benchmark's own (its bridge, subnet and chains), removed at the end.
        env.update(MINICONTAINER_BRIDGE="mcbench0", MINICONTAINER_SUBNET="10.254.0.0/16", MINICONTAINER_CHAIN_PREFIX="MCBENCH")
        subprocess.run([*mc, "run", "--rm", "--net=bridge", "busybox", "true"], env=env, check=True)  # creates the bridge
        report("run --rm --net=bridge busybox true", timed_runs([*mc, "run", "--rm", "--net=bridge", "busybox", "true"], args.runs, env))
        report("run --rm --net=bridge -p 80 busybox true",
               timed_runs([*mc, "run", "--rm", "--net=bridge", "-p", "80", "busybox", "true"], args.runs, env))
        from benchreadonly import readonly_times
        print("read-only commands and exec, one container running with -p (each a new process):")
        for label, ms in readonly_times(mc, env, args.runs):
            print(f"  {label:<42} median {ms:7.1f} ms")
        connects, disconnects = connect_cycle(mc, env, args.runs)
        report("network connect (running container)", connects)
        report("network disconnect (running container)", disconnects)
        report("python -c pass (interpreter floor)", timed_runs([sys.executable, "-c", "pass"], args.runs, env))
        print(f"{'idle supervisor RSS':<44} {supervisor_rss(mc, env):7.1f} MiB")
        from benchdns import QUERIES, dns_figures
        lookups, starts, with_dns, without = dns_figures(mc, env, args.runs)
        report("run --rm --net=USER-NETWORK busybox true", starts)
        ms = sorted(t * 1000 for t in lookups)
        print(f"{'DNS lookup of a name via 127.0.0.11 (UDP)':<44} median {statistics.median(ms):7.3f} ms   "
              f"min {ms[0]:7.3f}   p90 {ms[int(len(ms) * 0.9) - 1]:7.3f}   (n={len(ms)} of {QUERIES})")
        print(f"{'supervisor RSS with the DNS server':<44} {with_dns:7.1f} MiB   (without: {without:.1f} MiB, "
              f"+{with_dns - without:.1f} MiB)")
        if not args.no_throughput:
            from benchnet import SECONDS, throughput
            print(f"TCP throughput, iperf3, one stream, {SECONDS} s each:")
            for label, gbits in throughput(mc, env):
                print(f"  {label:<54} {gbits:7.2f} Gbit/s")
        from benchlatency import REQUESTS, latency
        from benchlatency import report as latency_report
        print(f"HTTP request latency, {REQUESTS} GETs per path, a new connection each:")
        latency_report(latency())
        if not args.no_copy:
            from benchcp import SIZE_MIB, copy_speed
            print(f"cp of a {SIZE_MIB} MiB file, 6 runs each:")
            results = copy_speed(mc, env)
            plain, plain_min = results[0][1], results[0][2]
            for label, median, best, runs in results:
                print(f"  {label:<40} median {median * 1000:6.0f} ms ({median / plain:.2f}x plain cp)   "
                      f"min {best * 1000:6.0f} ms ({best / plain_min:.2f}x)   runs: "
                      + " ".join(f"{t * 1000:.0f}" for t in runs))
        if not args.no_pull:
            from benchpull import LAYER_MIB, LAYERS, pull_speed
            from benchpull import report as pull_report
            print(f"pull from a registry on 127.0.0.1, busybox + {LAYERS} layers of {LAYER_MIB} MiB:")
            pull_report(pull_speed(mc, env))
        if docker_available():
            subprocess.run(["docker", "pull", "-q", "busybox"], capture_output=True)
            for net in ("none", "host"):
                report(f"docker run --rm --net={net} busybox true",
                       timed_runs(["docker", "run", "--rm", f"--net={net}", "busybox", "true"], args.runs, env))
        else:
            print("docker: no engine on this machine, no comparison")
    finally:
        subprocess.run([*mc, "network", "rm", "--predefined", "bridge"], env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
