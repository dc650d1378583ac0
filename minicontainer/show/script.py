"""A container's trace (or dry-run plan) as a shell script that does the same with standard tools.

The script mirrors the runtime's own order: the network's first use; a process in new namespaces that
waits; the host side once those namespaces exist (veth, the /run/netns name, the DNS server, ports); then
the container's process builds its view (mounts, pivot_root, hostname) and execs the command. The two
fifos are the handshake the runtime does with two pipes. Run as root it builds the same kernel state:
tests/integration/test_explain.py replays it and compares.
"""

from __future__ import annotations

import shlex

from minicontainer.kernel.namespaces import KINDS


def _block(lines: list[dict], indent: str = "") -> list[str]:
    out = []
    for line in lines:
        if line.get("why"):
            out.append(f"{indent}# {line['why']}")
        out += [indent + cmd for cmd in line["sh"].splitlines()]
    return out


def _unshare(line: dict) -> str:
    """unshare(1) for the kinds the child unshares, plus the pid namespace the supervisor gives it;
    nsenter(1) first for the namespaces it joins (--net container:NAME)."""
    kinds = ([] if line.get("pid") == "host" else ["pid"]) + [k for k in line["kinds"] if k != "pid"]
    # --kill-child: the container dies with its parent, as the runtime's PR_SET_PDEATHSIG does
    cmd = "unshare " + " ".join(f"--{KINDS[k][1]}" for k in kinds) + " --fork --kill-child --propagation unchanged"
    joins = " ".join(f"--{KINDS[k][1]}={path}" for k, path in sorted(line.get("join", {}).items()))
    return f"nsenter {joins} {cmd}" if joins else cmd


def _confinement(security: dict) -> list[str]:
    """The capability sets and the seccomp filter, as comments: the container's root has no setpriv,
    and a seccomp filter has no shell equivalent."""
    if security.get("privileged"):
        out = ["# --privileged: every capability kept"]
    else:
        caps = ",".join("+" + c.removeprefix("CAP_").lower() for c in security.get("caps", []))
        out = ["# capabilities, as `setpriv --bounding-set -all" + ("," + caps if caps else "")
               + " --inh-caps -all --ambient-caps -all` sets them; effective and permitted = the bounding set for"
               " root, empty for any other user"]
    if security.get("no_new_privileges"):
        out.append("# no_new_privs set (setpriv --no-new-privs): exec can gain no privilege (setuid bits, file caps)")
    if security.get("seccomp", "unconfined") != "unconfined":
        name = "Docker's default profile" if security["seccomp"] == "builtin" else "the --security-opt seccomp= profile"
        out.append(f"# seccomp: {name}, default action {security.get('seccomp_default')}, loaded just before exec"
                   " (no shell equivalent)")
    return out


def _exec(line: dict) -> list[str]:
    out = _confinement(line["security"]) if line.get("security") else []
    for u in line.get("ulimits", []):  # --ulimit, before the capabilities go (-1: unlimited)
        soft, hard = ("unlimited" if v < 0 else str(v) for v in (u["Soft"], u["Hard"]))
        out.append(f"prlimit --pid $$ --{u['Name']}={soft}:{hard}")
    if line.get("user"):
        out.append(f"# then the runtime switches to user {line['user']} (setgroups, setgid, setuid) before exec")
    out.append(f"cd {shlex.quote(line.get('cwd') or '/')}")
    env = " ".join(shlex.quote(e) for e in line.get("env", []))
    out.append(f"exec env -i {env} {shlex.join(line['argv'])}")
    return out


def _shorten(text: str, names: dict[str, str]) -> str:
    """Long state paths as the script's variables ($ctr, $layers): the same commands, readable."""
    for path, var in names.items():
        text = text.replace(path, var)
    return text


def render(lines: list[dict], title: str, names: dict[str, str] | None = None) -> str:
    """The script for one container start. `lines` are trace lines (see trace.py for the phases);
    names maps long paths to the variable names the script defines for them."""
    names = dict(sorted((names or {}).items(), key=lambda kv: -len(kv[0])))  # longest path first
    by_phase: dict[str, list[dict]] = {}
    for line in lines:
        by_phase.setdefault(line["phase"], []).append(line)
    network, host, inner = by_phase.get("network", []), by_phase.get("host", []), by_phase.get("container", [])
    unshare = (by_phase.get("unshare") or [None])[0]
    started = (by_phase.get("started") or [{}])[0]
    failed = [f"# FAILED: the start stopped here: {line['error']}" for line in by_phase.get("failed", [])]
    out = ["#!/bin/sh", f"# {title}",
           "# The same kernel actions with standard tools (ip, iptables, mount, sysctl, unshare);",
           "# run as root on a host without this container, it builds the same links, rules and mounts.",
           "set -e"]
    if network:
        bridge = next((ln["sh"].split()[3] for ln in network if ln["step"] == "CreateBridge"), "")
        out += ["", f"# ==== network: first use of bridge {bridge}; it stays until `network rm`"]
        out += _block(network)
    files = by_phase.get("files", [])
    if files:
        out += ["", "# ==== files: what the container's view is made of, besides the image's layers"]
        out += _block(files)
    if unshare is None:
        return _with_names(out + failed, names)
    out += ["", "# ==== the container's process: a shell in new namespaces, its pid 1, running this script",
            "sync=$(mktemp -d)", "cat > \"$sync/container.sh\" <<'EOF'"]
    if host:
        out += ['echo > "$1"      # my namespaces exist', 'read go < "$2"  # wait until the host side is wired']
    out += _block(inner)
    if "exec" in by_phase:
        out += _exec(by_phase["exec"][0])
    out.append("EOF")
    if host:
        out += ["# The handshake the runtime does with two pipes, here with two fifos.", 'mkfifo "$sync/ns" "$sync/go"']
    out += ["# Its output goes where the runtime's goes, to a log; here nowhere, so the script's own caller",
            "# is not held open by it (as run -d returns)",
            f'{_unshare(unshare)} sh -e "$sync/container.sh" "$sync/ns" "$sync/go" </dev/null >/dev/null 2>&1 &',
            "pid=$!" + (f"  # {started['pid']} when the runtime did it" if started.get("pid") else "")]
    if host:
        out += ['read ns < "$sync/ns"', "", "# ==== host side, wired to the container's namespaces (process $pid)"]
        out += _block(host)
        out += ['echo > "$sync/go"  # go: the container builds its view and runs its command']
    last = None
    for line in by_phase.get("changed", []):  # each connect or disconnect, in the order they happened
        if line["change"] != last:
            out += ["", f"# ==== later, while it ran: {line['change']}"]
            last = line["change"]
        out += _block([line])
    out += ['rm -r "$sync"  # the shell keeps its script open', "",
            'echo "$pid"  # the container runs as this process; its namespaces live as long as it does']
    return _with_names(out + failed, names)


def _with_names(out: list[str], names: dict[str, str]) -> str:
    exports = [f"export {var[1:]}={path}" for path, var in sorted(names.items(), key=lambda kv: kv[1])]
    head = out.index("set -e") + 1
    return "\n".join(out[:head] + exports + [_shorten(line, names) for line in out[head:]]) + "\n"


def render_teardown(lines: list[dict], title: str) -> str:
    out = ["#!/bin/sh", f"# {title}", "set -e"]
    for line in lines:
        if line.get("why"):
            out.append(f"# {line['why']}")
        out += line["sh"].splitlines()
    return "\n".join(out) + "\n"
