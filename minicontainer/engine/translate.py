"""POST /containers/create's body (Config + HostConfig + NetworkingConfig) as `run`'s options:
the service makes its RunSpec with the CLI's own parser (specs/run.from_options), so a request
means what the same flags mean, with the same errors. Only the shapes differ: lists and numbers
here, flag strings there. Fields minicontainer has no use for (Labels, Healthcheck, StopSignal,
ShmSize, ...) are accepted and ignored, as the docker CLI sends every HostConfig field."""

from __future__ import annotations

from minicontainer.engine.errors import ApiError


def _strs(value) -> list[str]:
    """A strslice: a list, a single string, or null."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _size(value) -> str:
    """A number of bytes (0 or null: not given)."""
    return str(value) if value else ""


def _publish(port_bindings: dict) -> list[str]:
    """{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} -> ["8080:80/tcp"] (an empty HostPort: a random one)."""
    out = []
    for key, bindings in (port_bindings or {}).items():
        for b in bindings or [{}]:
            ip, port = (b or {}).get("HostIp") or "", (b or {}).get("HostPort") or ""
            if ":" in ip:
                ip = f"[{ip}]"
            out.append(f"{ip}:{port}:{key}" if ip else f"{port}:{key}" if port else key)
    return out


def _mount(m: dict) -> str:
    """A Mounts entry as --mount's syntax."""
    kind = m.get("Type") or "volume"
    parts = [f"type={kind}"]
    if m.get("Source"):
        parts.append(f"source={m['Source']}")
    if not m.get("Target"):
        raise ApiError(400, "invalid mount config: Target must not be empty")
    parts.append(f"target={m['Target']}")
    if m.get("ReadOnly"):
        parts.append("readonly")
    if kind == "volume" and (m.get("VolumeOptions") or {}).get("NoCopy"):
        parts.append("volume-nocopy")
    return ",".join(parts)


def _tmpfs(tmpfs: dict | None) -> list[str]:
    return [f"{path}:{opts}" if opts else path for path, opts in (tmpfs or {}).items()]


def _networks(mode: str, endpoints: dict | None) -> list[str]:
    """HostConfig.NetworkMode first, then the other EndpointsConfig entries (API 1.44 takes several
    at create), each in --network's long syntax when it has an address, aliases or a MAC."""
    mode = "bridge" if mode in ("", "default") else mode
    endpoints = dict(endpoints or {})
    if "default" in endpoints and mode == "bridge":
        endpoints.setdefault("bridge", endpoints.pop("default"))
    names = [mode] + [n for n in endpoints if n != mode]
    out = []
    for name in names:
        ep = endpoints.get(name) or {}
        ip = (ep.get("IPAMConfig") or {}).get("IPv4Address") or ""
        fields = [f"alias={a}" for a in ep.get("Aliases") or [] if a]
        if ip:
            fields.append(f"ip={ip}")
        if ep.get("MacAddress"):
            fields.append(f"mac-address={ep['MacAddress']}")
        out.append(",".join([f"name={name}", *fields]) if fields else name)
    return out


def _restart(policy: dict | None) -> str:
    name = (policy or {}).get("Name") or ""
    count = (policy or {}).get("MaximumRetryCount") or 0
    if name in ("", "no"):
        return ""
    return f"{name}:{count}" if name == "on-failure" and count else name


def _ulimits(ulimits) -> list[str]:
    return [f"{u['Name']}={u.get('Soft', 0)}:{u.get('Hard', 0)}" for u in ulimits or []]


def _devices(devices) -> list[str]:
    out = []
    for d in devices or []:
        host, inside, perms = d.get("PathOnHost", ""), d.get("PathInContainer", ""), d.get("CgroupPermissions", "")
        out.append(":".join(p for p in (host, inside or host, perms) if p))
    return out


def _cpus(nano) -> str:
    if not nano:
        return ""
    return f"{nano / 1e9:.9f}".rstrip("0").rstrip(".")


def run_options(body: dict, name: str) -> dict:
    """from_options' keyword arguments for the request (image and command included)."""
    host = body.get("HostConfig") or {}
    if not body.get("Image"):
        raise ApiError(400, "No image was specified")  # the daemon's words for an empty Image
    binds = list(host.get("Binds") or [])
    # docker-py lists a bind's target in Config.Volumes too: the daemon lets the bind have it
    taken = {b.split(":")[1] for b in binds if b.count(":") >= 1} | {m.get("Target") for m in host.get("Mounts") or []}
    volumes = binds + [path for path in (body.get("Volumes") or {}) if path.rstrip("/") not in taken and path not in taken]
    attached = bool(body.get("AttachStdout") or body.get("AttachStderr") or body.get("AttachStdin"))
    pids = host.get("PidsLimit")
    return dict(
        image=body["Image"], command=_strs(body.get("Cmd")), name=name.lstrip("/") or None,
        detach=not attached, remove=bool(host.get("AutoRemove")),
        env=[e for e in body.get("Env") or [] if "=" in e],  # a bare KEY would read the service's own environment:
        workdir=body.get("WorkingDir") or "", hostname=body.get("Hostname") or "",
        domainname=body.get("Domainname") or "", user=body.get("User") or "",
        interactive=bool(body.get("OpenStdin")), tty=bool(body.get("Tty")),
        network=_networks(host.get("NetworkMode") or "", (body.get("NetworkingConfig") or {}).get("EndpointsConfig")),
        publish=_publish(host.get("PortBindings") or {}), publish_all=bool(host.get("PublishAllPorts")),
        expose=list((body.get("ExposedPorts") or {}).keys()),
        volume=volumes, mount=[_mount(m) for m in host.get("Mounts") or []], tmpfs=_tmpfs(host.get("Tmpfs")),
        dns=_strs(host.get("Dns")), dns_search=_strs(host.get("DnsSearch")), dns_option=_strs(host.get("DnsOptions")),
        add_host=_strs(host.get("ExtraHosts")), link=_strs(host.get("Links")),
        uts=host.get("UTSMode") or "", pid=host.get("PidMode") or "",
        cap_add=_strs(host.get("CapAdd")), cap_drop=_strs(host.get("CapDrop")),
        privileged=bool(host.get("Privileged")), security_opt=_strs(host.get("SecurityOpt")),
        sysctl=[f"{k}={v}" for k, v in (host.get("Sysctls") or {}).items()],
        read_only=bool(host.get("ReadonlyRootfs")), ulimit=_ulimits(host.get("Ulimits")),
        init=bool(host.get("Init")), restart=_restart(host.get("RestartPolicy")),
        label=[f"{k}={v}" for k, v in (body.get("Labels") or {}).items()],
        memory=_size(host.get("Memory")), memory_swap=_size(host.get("MemorySwap")),
        memory_reservation=_size(host.get("MemoryReservation")), oom_kill_disable=bool(host.get("OomKillDisable")),
        cpus=_cpus(host.get("NanoCpus")), cpu_shares=_size(host.get("CpuShares")),
        cpuset_cpus=host.get("CpusetCpus") or "", pids_limit=str(pids) if pids else "",
        blkio_weight=_size(host.get("BlkioWeight")), cgroup_parent=host.get("CgroupParent") or "",
        device=_devices(host.get("Devices")), device_cgroup_rule=_strs(host.get("DeviceCgroupRules")),
    )


def run_spec(body: dict, name: str):
    """The RunSpec of a create request; the entrypoint is a list here (--entrypoint is one string)."""
    from minicontainer.specs.run import from_options
    spec = from_options(**run_options(body, name))
    spec.env = [str(e) for e in body.get("Env") or []]  # as given: a bare KEY stays in Config.Env, as Docker keeps it
    if body.get("Entrypoint") is not None:
        spec.entrypoint = [e for e in _strs(body["Entrypoint"]) if e]  # [] or [""]: no entrypoint, as Docker
    return spec
