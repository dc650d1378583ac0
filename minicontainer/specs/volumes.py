"""`-v` and `--mount` as MountSpecs, with Docker's parsing rules and messages. Pure: no I/O.

-v SRC:DST[:OPTS]   SRC starting with / . or ~ is a bind (created as a directory if missing);
                    anything else is a named volume; a lone DST is an anonymous volume.
--mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,volume-nocopy][,tmpfs-size=..]
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from minicontainer.errors import DaemonError, MCError

VOLUME_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def check_volume_name(name: str) -> None:
    """`volume create NAME`'s check (exit 1; `-v` and `--mount` say the same with 125)."""
    if not VOLUME_NAME_RE.match(name):
        raise DaemonError(f"create {name}: \"{name}\" includes invalid characters for a local volume name, "
                          "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
                          "directory, use absolute path", 1)


# The local driver's options (moby's volume/local validOpts, mandatoryOpts), and the mounts we make
# of them: a bind of `device` (type=none, o=bind), or a filesystem such as tmpfs (o: its options).
VOLUME_OPTIONS = ("type", "o", "device", "size")
_REQUIRES = {"device": ("type",), "type": ("device",), "o": ("device", "type")}


def check_volume_options(name: str, options: dict[str, str]) -> None:
    """`volume create -o`'s check, Docker's words (exit 1)."""
    for key in options:
        if key not in VOLUME_OPTIONS:
            raise DaemonError(f"create {name}: invalid option: {key!r}".replace("'", '"'), 1)
    for key, needed in _REQUIRES.items():
        if key in options:
            for other in needed:
                if other not in options:
                    raise DaemonError(f"create {name}: missing required option: \"{other}\"", 1)
    if "size" in options:  # Docker sets it as an XFS project quota, which we do not
        raise DaemonError(f"create {name}: size quota requested for volume but no quota support", 1)
    if options.get("type") == "none" and not {"bind", "rbind"} & set(options.get("o", "").split(",")):
        raise DaemonError(f"create {name}: type=none mounts only with o=bind (or rbind): a bind of device", 1)


_MODE_CLASSES = {
    "rw": "access", "ro": "access",
    "z": "label", "Z": "label",
    "private": "propagation", "rprivate": "propagation", "shared": "propagation", "rshared": "propagation",
    "slave": "propagation", "rslave": "propagation",
    "nocopy": "copy",
    "consistent": "consistency", "cached": "consistency", "delegated": "consistency",
}


@dataclass
class MountSpec:
    """One -v or --mount, as the user asked for it."""

    type: str                 # bind | volume | tmpfs
    source: str               # host path (bind), volume name ("" for anonymous), "" (tmpfs)
    target: str
    readonly: bool = False
    mode: str = ""            # the raw -v option string, as inspect shows it
    copy_data: bool = True    # volumes: copy the image's content into an empty volume
    create_source: bool = False  # -v binds: a missing host directory is created
    tmpfs_size: int = 0
    propagation: str = ""
    tmpfs_options: str = ""   # --tmpfs PATH:OPTIONS, as HostConfig.Tmpfs keeps them
    tmpfs_flag: bool = False  # made by --tmpfs (Docker lists those in HostConfig.Tmpfs, not in Mounts)


def _valid_mode(mode: str) -> bool:
    seen = set()
    for opt in mode.split(","):
        cls = _MODE_CLASSES.get(opt)
        if cls is None or cls in seen:
            return False
        seen.add(cls)
    return True


def _check_target(spec: str, target: str, kind: str) -> None:
    if not target.startswith("/"):
        raise DaemonError(f"invalid volume specification: '{spec}': invalid mount config for type \"{kind}\": "
                          f"invalid mount path: '{target}' mount path must be absolute", 125)
    if os.path.normpath(target) == "/":
        raise DaemonError("invalid specification: destination can't be '/'", 125)


def parse_volume(spec: str, cwd: str | None = None) -> MountSpec:
    """One -v argument."""
    if not spec:
        raise MCError("invalid empty volume spec", 125)
    parts = spec.split(":")
    if len(parts) > 3:
        raise MCError(f"invalid spec: {spec}: too many colons", 125)
    if any(p == "" for p in parts):
        raise MCError(f"invalid spec: {spec}: empty section between colons", 125)
    if len(parts) == 1:  # anonymous volume
        _check_target(spec, parts[0], "volume")
        return MountSpec("volume", "", os.path.normpath(parts[0]))
    if len(parts) == 2 and _valid_mode(parts[1]) and not parts[1].startswith("/"):
        raise DaemonError(f"invalid volume specification: '{spec}'", 125)
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    if mode and not _valid_mode(mode):
        raise DaemonError(f"invalid mode: {mode}", 125)
    options = mode.split(",") if mode else []
    bind = source.startswith(("/", ".", "~"))
    _check_target(spec, target, "bind" if bind else "volume")
    propagation = next((o for o in options if _MODE_CLASSES[o] == "propagation"), "")
    if bind:
        if source.startswith("~"):
            source = os.path.expanduser(source)
        source = os.path.normpath(os.path.join(cwd or os.getcwd(), source))
        return MountSpec("bind", source, os.path.normpath(target), readonly="ro" in options, mode=mode,
                         create_source=True, propagation=propagation or "rprivate")
    if not VOLUME_NAME_RE.match(source):
        raise DaemonError(f'"{source}" includes invalid characters for a local volume name, only '
                          '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
                          "use absolute path", 125)
    return MountSpec("volume", source, os.path.normpath(target), readonly="ro" in options, mode=mode or "z",
                     copy_data="nocopy" not in options)


_SIZE_RE = re.compile(r"^(\d+)([kmg]?)b?$", re.I)


def _size(value: str) -> int:
    m = _SIZE_RE.match(value)
    if not m:
        raise MCError(f"invalid argument \"{value}\" for \"--mount\" flag: invalid size", 125)
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()]


_GO_BOOLS = {**dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
             **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False)}


# The keys the docker CLI's --mount parser knows (opts/mount.go); any other is refused. Those we do
# not act on (consistency, volume-driver, ...) are accepted and ignored, as Docker ignores some.
MOUNT_KEYS = {"type", "source", "src", "target", "dst", "destination", "readonly", "ro", "consistency",
              "bind-propagation", "bind-nonrecursive", "bind-recursive", "volume-subpath", "volume-nocopy",
              "volume-driver", "volume-label", "volume-opt", "tmpfs-size", "tmpfs-mode", "image-subpath"}


def parse_mount(spec: str) -> MountSpec:
    """One --mount argument (CSV of key=value; a bare `readonly` means true)."""
    fields: dict[str, str] = {}
    for item in spec.split(","):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq and key not in ("readonly", "ro", "volume-nocopy"):
            raise MCError(f"invalid argument \"{spec}\" for \"--mount\" flag: invalid field '{item}' must be a "
                          "key=value pair", 125)
        if key not in MOUNT_KEYS:  # a typo (rw=false) must never silently drop a readonly
            raise MCError(f"invalid argument \"{spec}\" for \"--mount\" flag: unexpected key '{key}' in '{item}'", 125)
        fields[key] = value if eq else "true"
    kind = fields.pop("type", "volume")
    source = fields.pop("source", fields.pop("src", ""))
    target = fields.pop("target", fields.pop("dst", fields.pop("destination", "")))
    readonly_key = "readonly" if "readonly" in fields else "ro"
    readonly_value = fields.pop("readonly", fields.pop("ro", "false"))
    if readonly_value not in _GO_BOOLS:  # Go's strconv.ParseBool, as the docker CLI uses
        raise MCError(f"invalid argument \"{spec}\" for \"--mount\" flag: invalid value for {readonly_key}: "
                      f"{readonly_value}", 125)
    readonly = _GO_BOOLS[readonly_value]
    if kind not in ("bind", "volume", "tmpfs"):
        raise MCError(f"invalid argument \"{spec}\" for \"--mount\" flag: invalid type: {kind}", 125)
    if not target:
        raise MCError(f"invalid argument \"{spec}\" for \"--mount\" flag: target is required", 125)
    _check_target(spec, target, kind)
    if kind == "bind":
        if not source:
            raise DaemonError("invalid mount config for type \"bind\": field Source must not be empty", 125)
        if not os.path.isabs(source):
            raise DaemonError(f"invalid mount config for type \"bind\": invalid mount path: '{source}' "
                              "mount path must be absolute", 125)
        return MountSpec("bind", os.path.normpath(source), os.path.normpath(target), readonly=readonly,
                         propagation=fields.pop("bind-propagation", "rprivate"))
    if kind == "tmpfs":
        if source:
            raise DaemonError("invalid mount config for type \"tmpfs\": field Source must be empty", 125)
        return MountSpec("tmpfs", "", os.path.normpath(target), readonly=readonly,
                         tmpfs_size=_size(fields["tmpfs-size"]) if "tmpfs-size" in fields else 0)
    if source and not VOLUME_NAME_RE.match(source):
        raise DaemonError(f'"{source}" includes invalid characters for a local volume name, only '
                          '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
                          "use absolute path", 125)
    return MountSpec("volume", source, os.path.normpath(target), readonly=readonly,
                     copy_data=fields.pop("volume-nocopy", "false") not in ("true", "1"))


def check_duplicates(mounts: list[MountSpec]) -> list[MountSpec]:
    """The mounts with identical repeats folded into one (`-v /d:/v -v /d:/v` runs, as in Docker);
    two different mounts on one target are refused."""
    seen: dict[str, MountSpec] = {}
    for m in mounts:
        if m.target in seen and seen[m.target] != m:
            raise DaemonError(f"Duplicate mount point: {m.target}", 125)
        seen.setdefault(m.target, m)
    return list(seen.values())


TMPFS_FLAGS = {"ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "sync", "async", "atime", "noatime",
               "diratime", "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime"}
TMPFS_DATA = {"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"}


def parse_tmpfs(spec: str) -> MountSpec:
    """--tmpfs PATH[:OPTIONS]: mount(8) options, Docker's defaults noexec,nosuid,nodev when unsaid."""
    target, _, options = spec.partition(":")
    if not target.startswith("/"):
        raise MCError(f"invalid mount path: {target}: mount path must be absolute", 125)
    for opt in filter(None, options.split(",")):
        key = opt.partition("=")[0]
        if opt not in TMPFS_FLAGS and not (key in TMPFS_DATA and "=" in opt):
            raise DaemonError(f"invalid tmpfs option [\"{opt}\"]", 125)
    readonly = "ro" in options.split(",")
    return MountSpec("tmpfs", "", os.path.normpath(target), readonly=readonly, tmpfs_options=options, tmpfs_flag=True)
