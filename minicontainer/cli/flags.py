"""A small flag parser that behaves like Docker's (spf13/pflag via cobra).

-abc bundles short booleans; -e K=V, -eK=V, --env K=V and --env=K=V are the same; `--` ends flags;
with interspersed=False (run, exec) flags stop at the first positional argument, so the container
command keeps its own flags. Error messages are pflag's.
"""

from __future__ import annotations

from dataclasses import dataclass

from minicontainer.errors import UsageError


@dataclass(frozen=True)
class Flag:
    """One command-line flag: its names, kind, default and help."""

    long: str
    short: str = ""
    kind: str = "bool"   # bool | str | list | int
    default: object = None
    help: str = ""
    metavar: str = ""

    @property
    def dest(self) -> str:
        return self.long.replace("-", "_")

    def initial(self):
        if self.kind == "list":
            return []
        if self.default is not None:
            return self.default
        return False if self.kind == "bool" else ("" if self.kind == "str" else 0)


HELP = Flag("help", help="Print usage")
_TRUE, _FALSE = ("1", "t", "T", "true", "TRUE", "True"), ("0", "f", "F", "false", "FALSE", "False")


class Parsed(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _set(values: dict, flag: Flag, raw: str | None, shown: str) -> None:
    if flag.kind == "bool":
        if raw is None or raw in _TRUE:
            values[flag.dest] = True
        elif raw in _FALSE:
            values[flag.dest] = False
        else:
            raise UsageError(f'invalid argument "{raw}" for "{shown}" flag: strconv.ParseBool: parsing "{raw}": invalid syntax')
    elif flag.kind == "int":
        try:
            values[flag.dest] = int(raw)
        except ValueError:
            raise UsageError(f'invalid argument "{raw}" for "{shown}" flag: strconv.ParseInt: parsing "{raw}": invalid syntax') from None
    elif flag.kind == "list":
        values[flag.dest].append(raw)
    else:
        values[flag.dest] = raw


def parse(flags: list[Flag], argv: list[str], interspersed: bool = True) -> tuple[Parsed, list[str]]:
    flags = [*flags, HELP]
    by_long = {f.long: f for f in flags}
    by_short = {f.short: f for f in flags if f.short}
    values = Parsed({f.dest: f.initial() for f in flags})
    positionals: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positionals += argv[i:]
            break
        if arg.startswith("--"):
            name, eq, raw = arg[2:].partition("=")
            flag = by_long.get(name)
            if flag is None:
                raise UsageError(f"unknown flag: --{name}")
            if not eq and flag.kind != "bool":
                if i >= len(argv):
                    raise UsageError(f"flag needs an argument: --{name}")
                raw, i = argv[i], i + 1
            _set(values, flag, raw if eq or flag.kind != "bool" else None, f"--{name}")
        elif arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                ch = arg[j]
                flag = by_short.get(ch)
                if flag is None:
                    raise UsageError(f"unknown shorthand flag: '{ch}' in {arg}")
                shown = f"-{ch}, --{flag.long}"
                if flag.kind == "bool":
                    if arg[j + 1:j + 2] == "=":
                        _set(values, flag, arg[j + 2:], shown)
                        break
                    _set(values, flag, None, shown)
                    j += 1
                    continue
                rest = arg[j + 1:]
                if rest.startswith("="):
                    rest = rest[1:]
                if not rest:
                    if i >= len(argv):
                        raise UsageError(f"flag needs an argument: '{ch}' in -{ch}")
                    rest, i = argv[i], i + 1
                _set(values, flag, rest, shown)
                break
        else:
            positionals.append(arg)
            if not interspersed:
                positionals += argv[i:]
                break
    return values, positionals


def usage_text(prog: str, usage: str, summary: str, flags: list[Flag], examples: list[str] = (),
               aliases: list[str] = ()) -> str:
    lines = [f"Usage:  {prog} {usage}", "", summary, ""]
    if aliases:
        lines += ["Aliases:", "  " + ", ".join(usage.split(" [")[0].rsplit(" ", 1)[0] + " " + a for a in aliases), ""]
    lines.append("Options:")
    for f in [*flags, HELP]:
        left = (f"-{f.short}, " if f.short else "    ") + f"--{f.long}"
        if f.kind != "bool":
            left += " " + (f.metavar or f.kind)
        lines.append(f"  {left:<28} {f.help}")
    if examples:
        lines += ["", "Examples:"] + [f"  {e}" for e in examples]
    return "\n".join(lines) + "\n"
