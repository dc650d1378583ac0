"""Command line: `minicontainer [--root DIR] COMMAND [OPTIONS] ARGS`, Docker's syntax and messages."""

from __future__ import annotations

import sys

from minicontainer.cli import flags as fl
from minicontainer.errors import MCError, UsageError

PROG = "minicontainer"
GLOBAL_FLAGS = [
    fl.Flag("root", kind="str", metavar="string", help="State directory (default /var/lib/minicontainer; env MINICONTAINER_ROOT)"),
    fl.Flag("userland-proxy", default="", help="Use a userland proxy for published ports (default true); "
            "false: the kernel does it (dockerd's flag; env MINICONTAINER_USERLAND_PROXY)"),
    fl.Flag("iptables-backend", kind="str", metavar="string", help="Where firewall rules go: legacy or nft "
            "(default: what the host's iptables is, as Docker; env MINICONTAINER_IPTABLES_BACKEND)"),
    fl.Flag("insecure-registry", kind="list", metavar="list", help="Registry to reach over plain HTTP "
            "(dockerd's flag; loopback registries always are; env MINICONTAINER_INSECURE_REGISTRIES)"),
    fl.Flag("version", "v", help="Print version information and quit"),
]


def _main_usage() -> str:
    from minicontainer.cli.commands import COMMANDS
    lines = [f"Usage:  {PROG} [OPTIONS] COMMAND", "", "A daemon-free container runtime that shows its work", "",
             "Commands:"]
    lines += [f"  {c.name:<10} {c.summary}" for c in COMMANDS.values()]
    lines += ["", "Options:", "      --root string       State directory (default /var/lib/minicontainer)",
              "      --userland-proxy    Use a userland proxy for published ports (default true)",
              "      --iptables-backend string  Where firewall rules go: legacy or nft (default: the host's iptables)",
              "      --insecure-registry list  Registry to reach over plain HTTP (loopback ones always are)",
              "", f"Run '{PROG} COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


def _group_usage(group) -> str:
    subs = group.subcommands()
    lines = [f"Usage:  {PROG} {group.name} COMMAND", "", group.summary, "", "Commands:"]
    lines += [f"  {c.name:<10} {c.summary}" for c in subs]
    lines += ["", f"Run '{PROG} {group.name} COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        gopts, rest = fl.parse(GLOBAL_FLAGS, argv, interspersed=False)
    except UsageError as exc:
        print(f"{PROG}: {exc}\nSee '{PROG} --help'.", file=sys.stderr)
        return exc.exit_code
    if gopts.userland_proxy != "":
        import os
        os.environ["MINICONTAINER_USERLAND_PROXY"] = str(gopts.userland_proxy).lower()
    if gopts.iptables_backend:
        import os

        from minicontainer.network.backends import BACKENDS
        if gopts.iptables_backend not in BACKENDS:
            print(f"{PROG}: invalid argument \"{gopts.iptables_backend}\" for \"--iptables-backend\" flag: "
                  f"legacy or nft\nSee '{PROG} --help'.", file=sys.stderr)
            return 125
        os.environ["MINICONTAINER_IPTABLES_BACKEND"] = gopts.iptables_backend
    if gopts.insecure_registry:
        import os
        listed = [os.environ.get("MINICONTAINER_INSECURE_REGISTRIES", "")] + gopts.insecure_registry
        os.environ["MINICONTAINER_INSECURE_REGISTRIES"] = ",".join(d for d in listed if d)
    if gopts.version:
        rest = ["version"]
    if not rest or gopts.help:
        sys.stdout.write(_main_usage())
        return 0
    from minicontainer.cli.commands import COMMANDS
    cmd = COMMANDS.get(rest[0])
    if cmd is None:
        print(f"{PROG}: '{rest[0]}' is not a {PROG} command.\nSee '{PROG} --help'", file=sys.stderr)
        return 1
    args = rest[1:]
    if cmd.subcommands is not None:
        if not args or args[0] in ("--help", "-h"):
            sys.stdout.write(_group_usage(cmd))
            return 0
        sub = cmd.subcommand(args[0])
        if sub is None:
            print(f"{PROG}: '{cmd.name} {args[0]}' is not a {PROG} command.\nSee '{PROG} {cmd.name} --help'",
                  file=sys.stderr)
            return 1
        import dataclasses
        cmd, args = dataclasses.replace(sub, name=f"{cmd.name} {sub.name}"), args[1:]  # "network create" in messages
    try:
        opts, args = fl.parse(cmd.flags, args, interspersed=cmd.interspersed)
    except UsageError as exc:
        print(f"{PROG}: {exc}\nSee '{PROG} {cmd.name} --help'.", file=sys.stderr)
        return exc.exit_code
    if opts.help:
        sys.stdout.write(fl.usage_text(PROG, cmd.usage, cmd.summary, cmd.flags, cmd.examples, cmd.aliases))
        return 0
    if len(args) < cmd.min_args or (cmd.max_args is not None and len(args) > cmd.max_args):
        need = ("requires exactly" if cmd.min_args == cmd.max_args
                else "requires at least" if len(args) < cmd.min_args else "accepts at most")
        count = cmd.min_args if len(args) < cmd.min_args else cmd.max_args
        noun = "argument" if count == 1 else "arguments"
        print(f'{PROG}: "{PROG} {cmd.name}" {need} {count} {noun}.\nSee \'{PROG} {cmd.name} --help\'.\n\n'
              f"Usage:  {PROG} {cmd.usage}\n\n{cmd.summary}", file=sys.stderr)
        return 1
    try:
        from minicontainer.runtime.api import Runtime
        rt = Runtime(gopts.root or None)
        # First put right what a killed command or supervisor left; the views of the kernel's
        # network state show a missing rule as MISSING instead of putting it back.
        restored = rt.recover(repair_rules=cmd.repairs_rules)
        if restored:
            print(f"{PROG}: restored {len(restored)} firewall rules or chains that were missing "
                  f"from the kernel (first: {restored[0]})", file=sys.stderr)
        return cmd.handler(rt, opts, args)
    except MCError as exc:
        prefix = f"{PROG}: " if cmd.name in ("run", "create") else ""
        print(f"{prefix}{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
