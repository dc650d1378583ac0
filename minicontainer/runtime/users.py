"""`-u` / the image's User: "name|uid[:group|gid]" resolved against the container's /etc/passwd and
/etc/group, as runc does (moby/sys/user's GetExecUser). Pure text parsing; the caller reads the files
from inside the container's root, after pivot_root."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ExecUser:
    """A user resolved inside the container: uid, gid, supplementary groups, home."""

    uid: int
    gid: int
    groups: list[int]
    home: str


class UnknownUser(Exception):
    pass


def _entries(text: str, fields: int) -> list[list[str]]:
    out = []
    for line in text.splitlines():
        parts = line.split(":")
        if line and not line.startswith("#") and len(parts) >= fields:
            out.append(parts)
    return out


def resolve(spec: str, passwd: str, group: str) -> ExecUser:
    user, _, grp = (spec or "0").partition(":")
    users = _entries(passwd, 7)
    match = next((u for u in users if u[0] == user or (user.isdigit() and u[2] == user)), None)
    if match is None and not user.isdigit():
        raise UnknownUser(f"unable to find user {user}: no matching entries in passwd file")
    uid = int(match[2]) if match else int(user)
    gid = int(match[3]) if match and match[3].isdigit() else 0
    home = match[5] if match else "/"
    groups = _entries(group, 4)
    if grp:
        g = next((g for g in groups if g[0] == grp or (grp.isdigit() and g[2] == grp)), None)
        if g is None and not grp.isdigit():
            raise UnknownUser(f"unable to find group {grp}: no matching entries in group file")
        gid = int(g[2]) if g else int(grp)
    name = match[0] if match else None
    extra = [int(g[2]) for g in groups if name and name in g[3].split(",") and g[2].isdigit()]
    return ExecUser(uid, gid, sorted(set(extra) - {gid}), home)
