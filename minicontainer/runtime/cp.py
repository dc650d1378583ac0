"""`cp`: reach the container's filesystem as the container sees it, then copy (minicontainer.cp).

Running container: /proc/<pid>/root of its pid 1. That magic link is the container's root *in the
container's mount namespace*, so its volumes and other mounts are there too. Opened once, after a
pidfd pins the process, and every lookup under it is confined by openat2(RESOLVE_IN_ROOT).

Stopped container: nothing is mounted, so a forked helper makes its own mount namespace, mounts the
overlay and the volumes there as the container would have them (tmpfs ones are empty anyway),
copies, and exits; the mounts die with it and the host never sees them (Docker 24+ does the same).
"""

from __future__ import annotations

import os
import signal

from minicontainer.cp.rooted import Root
from minicontainer.errors import DaemonError, MCError
from minicontainer.kernel import proc
from minicontainer.kernel.helper import describe as _describe
from minicontainer.kernel.helper import in_helper as _in_helper


def copy(rt, req) -> tuple[int, str]:
    """Do the CopyRequest; returns (size as Docker counts it, destination as Docker prints it)."""
    from minicontainer.cp import transfer
    rec = rt.get(req.container)

    def work(ctr: Root) -> tuple[int, str]:
        host = Root.host()
        try:
            if req.to_container:
                owner = container_user(ctr, rec.config.get("User", "")) if req.archive else None
                return transfer.copy_in(ctr, host, req.container, req.local_path, req.container_path, req.follow_link,
                                        owner)
            size = transfer.copy_out(ctr, host, req.container, req.container_path, req.local_path, req.follow_link)
            return size, req.local_path
        except OSError as exc:
            raise MCError(_describe(exc)) from None
        finally:
            host.close()

    return in_container_fs(rt, rec, work)


def in_container_fs(rt, rec, work):
    """work(root) on the container's filesystem as it sees it: its running root, else (stopped) a
    helper's private mount of it; work's result must then be a JSON value (it comes back by pipe)."""
    root = _running_root(rec)
    if root is not None:
        try:
            return work(root)
        finally:
            root.close()
    return _in_helper(lambda: _with_stopped_root(rt, rec, work))


def container_user(ctr: Root, spec: str) -> tuple[int, int] | None:
    """`cp -a`: the uid and gid of the container's Config.User, from its own /etc/passwd and
    /etc/group (daemon/archive_tarcopyoptions_unix.go); None without a user (the sources' owners)."""
    if not spec:
        return None
    from minicontainer.runtime.users import UnknownUser, resolve
    texts = []
    for path in ("/etc/passwd", "/etc/group"):
        try:
            fd = ctr.open(path, os.O_RDONLY)
        except OSError:
            texts.append("")
            continue
        with os.fdopen(fd, encoding="utf-8", errors="replace") as f:
            texts.append(f.read())
    try:
        user = resolve(spec, *texts)
    except UnknownUser as exc:
        raise DaemonError(str(exc), 1) from None
    return user.uid, user.gid


def _running_root(rec) -> Root | None:
    """/proc/<pid>/root of the container's pid 1, or None if it is not running. The pidfd proves the
    pid still names that process after the open (pids are reused)."""
    if not rec.running:
        return None
    pidfd = proc.open_pidfd(rec.pid, rec.init_start)
    if pidfd is None:
        return None
    try:
        fd = os.open(f"/proc/{rec.pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            signal.pidfd_send_signal(pidfd, 0)
        except ProcessLookupError:
            os.close(fd)
            return None
        return Root(fd)
    finally:
        os.close(pidfd)


def stopped_view_plan(rt, rec):
    """The steps that rebuild a stopped container's filesystem in a private mount namespace."""
    from minicontainer.kernel import mounts as m
    from minicontainer.kernel.namespaces import Unshare
    from minicontainer.plan import Plan
    from minicontainer.runtime.volumes import mount_steps
    store = rt.containers
    merged = store.path(rec.id, "merged")
    plan = Plan([
        Unshare(["mnt"]),
        m.MakeMountsPrivate(),
        m.MountOverlay(rt.images.lower_dirs(rt.images.get(rec.image_id)), store.path(rec.id, "upper"),
                       store.path(rec.id, "work"), merged),
    ])
    # The container's own volume steps; tmpfs ones would be empty, and Docker's copy does not see them.
    plan.extend(mount_steps([x for x in rec.mounts if x.type != "tmpfs" and os.path.exists(x.source)], merged))
    return plan


def _with_stopped_root(rt, rec, work):
    stopped_view_plan(rt, rec).apply()
    root = Root(os.open(rt.containers.path(rec.id, "merged"), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
    try:
        return work(root)
    finally:
        root.close()
