"""From MountSpecs (the request) to MountRecords (what the container keeps): volumes created (and
filled from the image) at `create`, the mount steps for the container's plan, and the anonymous
volumes that go with their container. (Bind sources are made at start, by the start plan's files.)"""

from __future__ import annotations

import dataclasses
import os

from minicontainer.errors import DaemonError
from minicontainer.kernel import mounts as m
from minicontainer.kernel import safepath
from minicontainer.kernel import syscalls as sc
from minicontainer.specs.volumes import MountSpec
from minicontainer.store.records import MountRecord
from minicontainer.store.volumes import VolumeStore


def check_sources(specs: list[MountSpec]) -> None:
    """--mount type=bind needs an existing source (-v creates it instead)."""
    for spec in specs:
        if spec.type == "bind" and not spec.create_source and not os.path.exists(spec.source):
            raise DaemonError(f"invalid mount config for type \"bind\": bind source path does not exist: "
                              f"{spec.source}", 125)


def mount_record(spec: MountSpec, volume_name: str = "", volume_source: str = "") -> MountRecord:
    return MountRecord(type=spec.type, source=volume_source or spec.source, target=spec.target,
                       readonly=spec.readonly, mode=spec.mode, copy_data=spec.copy_data,
                       create_source=spec.create_source, tmpfs_size=spec.tmpfs_size,
                       propagation=spec.propagation, name=volume_name, tmpfs_options=spec.tmpfs_options,
                       tmpfs_flag=spec.tmpfs_flag)


def mount_records(volumes: VolumeStore, specs: list[MountSpec], anonymous_name: str = "") -> list[MountRecord]:
    """The mount records kept with the container, anonymous volumes named, nothing created yet: the
    record names them before they exist, so a crash in between leaves nothing nobody knows of.
    anonymous_name: the name to show for an anonymous volume instead of drawing one (--dry-run)."""
    records = []
    for spec in specs:
        if spec.type == "volume":
            name = spec.source or anonymous_name or os.urandom(32).hex()
            record = mount_record(spec, name, volumes.data(name))
            vol = volumes.find(name) if spec.source else None
            if vol is not None and vol.options:  # -o type=...: mounted as asked, not its directory
                record = dataclasses.replace(record, fstype=vol.options["type"], fsdevice=vol.options["device"],
                                             fsdata=vol.options.get("o", ""), copy_data=False)
            records.append(record)
        else:
            records.append(mount_record(spec))
    return records


def make_volumes(volumes: VolumeStore, specs: list[MountSpec], records: list[MountRecord], image_roots: list[str]) -> None:
    """At create: create the volumes and copy the image's content into new (empty) ones."""
    from minicontainer.faults import checkpoint
    for spec, rec in zip(specs, records, strict=True):
        if spec.type == "volume":
            _, created = volumes.ensure(rec.name, anonymous=not spec.source)
            data = volumes.data(rec.name)
            if spec.copy_data and (created or not os.listdir(data)):
                copy_up(image_roots, spec.target, data)
            checkpoint(f"volume {rec.name[:12]} ready")


def copy_up(image_roots: list[str], target: str, data: str) -> None:
    """Docker's copyExistingContents: the image's files at `target` into an empty volume. With several
    layers only their overlay shows what the image holds there (whiteouts, opaque directories), so a
    helper mounts a read-only one in a mount namespace of its own and copies from it."""
    if len(image_roots) == 1:
        _copy_tree(image_roots[0], target, data)
        return
    import tempfile

    from minicontainer.kernel.helper import in_helper
    view = tempfile.mkdtemp(prefix="mc-image-view-")
    try:
        in_helper(lambda: _copy_through_overlay(image_roots, view, target, data))
    finally:
        os.rmdir(view)  # the overlay went with the helper's mount namespace


def _copy_through_overlay(image_roots: list[str], view: str, target: str, data: str) -> list:
    from minicontainer.kernel.namespaces import Unshare
    from minicontainer.plan import Plan
    Plan([Unshare(["mnt"]), m.MakeMountsPrivate(), m.MountOverlay(image_roots, "", "", view)]).apply()
    _copy_tree(view, target, data)
    return []


def _copy_tree(root: str, target: str, data: str) -> None:
    """target is opened inside root without following symlinks: an image link cannot point the copy elsewhere."""
    try:
        fd = safepath.open_dir(root, target, create=False)
    except (FileNotFoundError, safepath.UnsafePath):
        return
    try:
        src = safepath.fd_path(fd)
        import shutil  # only a volume filled from the image needs it (bz2 and lzma come along)
        shutil.copytree(src, data, symlinks=True, dirs_exist_ok=True)
        _copy_owners(src, data)
    finally:
        os.close(fd)


def _copy_owners(src: str, dst: str) -> None:
    """copytree keeps modes but not owners: give every copied entry its source's uid/gid."""
    def same_owner(rel: str) -> None:
        st = os.lstat(os.path.join(src, rel))
        os.lchown(os.path.join(dst, rel), st.st_uid, st.st_gid)
    same_owner(".")
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        for name in dirnames + filenames:
            same_owner(os.path.join(rel, name))


_TMPFS_FLAG_BITS = {"ro": sc.MS_RDONLY, "noexec": sc.MS_NOEXEC, "nosuid": sc.MS_NOSUID, "nodev": sc.MS_NODEV}


def _tmpfs_mount_options(mnt: MountRecord) -> tuple[int, str]:
    """mount(2) flags and data of a tmpfs: --mount's nosuid,nodev (and its size); --tmpfs's options,
    with Docker's noexec,nosuid,nodev unless the user said exec, suid or dev."""
    if not mnt.tmpfs_flag:
        flags = sc.MS_NOSUID | sc.MS_NODEV | (sc.MS_RDONLY if mnt.readonly else 0)
        return flags, f"size={mnt.tmpfs_size}" if mnt.tmpfs_size else ""
    opts = [o for o in mnt.tmpfs_options.split(",") if o]
    wanted = set(opts) | {f"no{k}" for k in ("exec", "suid", "dev") if k not in opts}
    flags = 0
    for name, bit in _TMPFS_FLAG_BITS.items():
        if name in wanted:
            flags |= bit
    return flags, ",".join(o for o in opts if "=" in o)


def mount_steps(mounts: list[MountRecord], merged: str) -> list:
    """Mount steps in the container's plan; parents before children (sorted by depth, as Docker does)."""
    steps = []
    for mnt in sorted(mounts, key=lambda x: x.target.count("/")):
        if mnt.type == "tmpfs":
            flags, data = _tmpfs_mount_options(mnt)
            how = "--tmpfs" if mnt.tmpfs_flag else "--mount type=tmpfs"
            steps.append(m.MountFs("tmpfs", merged, mnt.target, flags, data, why=f"a tmpfs mount ({how})"))
        elif mnt.fstype == "none":  # a volume of -o type=none,o=bind,device=PATH
            steps.append(m.BindMount(mnt.fsdevice, merged, mnt.target, readonly=mnt.readonly,
                                     why=f"volume {mnt.name}: its device {mnt.fsdevice} at {mnt.target}"))
        elif mnt.fstype:  # a volume of -o type=tmpfs (or another filesystem): one mount per container
            flags = sc.MS_RDONLY if mnt.readonly else 0
            steps.append(m.MountFs(mnt.fstype, merged, mnt.target, flags, mnt.fsdata or None, source=mnt.fsdevice,
                                   why=f"volume {mnt.name}: a {mnt.fstype} mount (-o type={mnt.fstype})"))
        else:
            what = "volume " + mnt.name if mnt.type == "volume" else "host path"
            steps.append(m.BindMount(mnt.source, merged, mnt.target, readonly=mnt.readonly,
                                     why=f"{what} {mnt.source} at {mnt.target}" + (" (read-only)" if mnt.readonly else "")))
    return steps


def users_of(containers, name: str) -> list[str]:
    """Ids of the containers (running or not) that mount volume `name`."""
    return [r.id for r in containers if any(x.name == name for x in r.mounts)]


def remove_anonymous(volumes: VolumeStore, mounts: list[MountRecord]) -> None:
    """`rm -v` and `--rm`: the container's anonymous volumes go with it; named ones stay."""
    for mnt in mounts:
        vol = volumes.find(mnt.name) if mnt.type == "volume" else None
        if vol is not None and vol.anonymous:
            volumes.remove(vol.name, [], force=True)
