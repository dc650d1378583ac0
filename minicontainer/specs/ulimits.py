"""--ulimit NAME=SOFT[:HARD] (HostConfig.Ulimits), as go-units' ParseUlimit reads it. Pure."""

from __future__ import annotations

from minicontainer.errors import UsageError

# Docker's names, and the RLIMIT_ number each sets (Linux's generic numbering; Python's resource
# module lacks some, RLIMIT_LOCKS among them)
RESOURCES = {"cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6, "nofile": 7,
             "memlock": 8, "locks": 10, "sigpending": 11, "msgqueue": 12, "nice": 13, "rtprio": 14, "rttime": 15}


def _flag_error(text: str, reason: str) -> UsageError:
    return UsageError(f'invalid argument "{text}" for "--ulimit" flag: {reason}')


def parse(items) -> list[dict]:
    """The --ulimit flags as HostConfig.Ulimits ([{"Name", "Hard", "Soft"}]); a later flag for the
    same name replaces an earlier one, as in Docker's UlimitOpt."""
    out: dict[str, dict] = {}
    for text in items:
        name, eq, limits = text.partition("=")
        if not eq:
            raise _flag_error(text, f"invalid ulimit argument: {text}")
        if name not in RESOURCES:
            raise _flag_error(text, f"invalid ulimit type: {name}")
        soft_text, colon, hard_text = limits.partition(":")
        try:
            soft = int(soft_text)
            hard = int(hard_text) if colon else soft
        except ValueError:
            raise _flag_error(text, f"invalid ulimit argument: {text}") from None
        if soft > hard:
            raise _flag_error(text, f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
        out[name] = {"Name": name, "Hard": hard, "Soft": soft}
    return list(out.values())


def rlimits(ulimits: list[dict] | None) -> list[tuple[int, int, int]]:
    """(resource, soft, hard) for setrlimit; -1 means unlimited, as in Docker."""
    return [(RESOURCES[u["Name"]], u["Soft"], u["Hard"]) for u in ulimits or []]
