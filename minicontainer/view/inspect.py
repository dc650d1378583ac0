"""Docker's JSON for the runtime's records (`inspect`, `network inspect`), keys in Docker's order.

The one place where the typed records (store/records.py) become Docker's shapes: NetworkSettings,
Ports, Mounts, HostConfig.PortBindings. The CLI prints these, the Python API returns them.
"""

from __future__ import annotations

from minicontainer.kernel.mounts import MASKED_PATHS, READONLY_PATHS
from minicontainer.store.containers import ZERO_TIME
from minicontainer.store.records import Endpoint, MountRecord


def ports_map(rec) -> dict:
    """NetworkSettings.Ports: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, ...]}; empty when stopped."""
    out: dict = {}
    for p in rec.ports:
        out.setdefault(p.key, []).append({"HostIp": p.host_ip, "HostPort": str(p.host_port)})
    return out


def port_bindings(rec) -> dict:
    """HostConfig.PortBindings, as Docker keeps the request: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}."""
    out: dict = {}
    for b in rec.port_bindings:
        out.setdefault(b.key, []).append({"HostIp": b.host_ip, "HostPort": b.host_label})
    return out


def mounts_json(mounts: list[MountRecord]) -> list[dict]:
    """inspect's `Mounts`, fields in Docker's order."""
    out = []
    for mnt in mounts:
        if mnt.tmpfs_flag:
            continue  # --tmpfs: HostConfig.Tmpfs shows it, Docker's Mounts does not
        if mnt.type == "volume":
            out.append({"Type": "volume", "Name": mnt.name, "Source": mnt.source, "Destination": mnt.target,
                        "Driver": "local", "Mode": mnt.mode, "RW": not mnt.readonly, "Propagation": ""})
        elif mnt.type == "bind":
            out.append({"Type": "bind", "Source": mnt.source, "Destination": mnt.target, "Mode": mnt.mode,
                        "RW": not mnt.readonly, "Propagation": mnt.propagation or "rprivate"})
        else:
            out.append({"Type": "tmpfs", "Source": "", "Destination": mnt.target, "Mode": "",
                        "RW": not mnt.readonly, "Propagation": ""})
    return out


_NO_ENDPOINT = Endpoint(network="", network_id="", bridge="", ip="", prefixlen=0, gateway="", mac="",
                        sandbox_key="", endpoint_id="")


def endpoint_json(ep: Endpoint | None, asked=None, network_id: str = "", dns_names: list[str] | None = None) -> dict:
    """One entry of NetworkSettings.Networks: the endpoint while it runs, else what was asked for
    (a stopped container keeps its networks, their operational data empty, as Docker does)."""
    live = ep or _NO_ENDPOINT
    aliases = list(live.aliases if ep else getattr(asked, "aliases", ())) or None
    static = getattr(asked, "ip", "")
    return {
        "IPAMConfig": {"IPv4Address": static} if static else None, "Links": None, "Aliases": aliases,
        "MacAddress": live.mac, "DriverOpts": None, "GwPriority": getattr(asked, "gw_priority", 0),
        "NetworkID": live.network_id or network_id, "EndpointID": live.endpoint_id, "Gateway": live.gateway,
        "IPAddress": live.ip, "IPPrefixLen": live.prefixlen,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": dns_names,
    }


def _dns_names(rec, network: str, aliases) -> list[str] | None:
    """Docker's DNSNames on a user-defined network (none on the others: they have no embedded DNS)."""
    from minicontainer.network.names import dns_names
    from minicontainer.specs.network import is_user_defined
    if not is_user_defined(network):
        return None
    return dns_names(rec.name, aliases, rec.short_id, rec.config.get("Hostname", ""))


def networks_json(rt, rec) -> dict:
    """NetworkSettings.Networks: each network the container is (to be) connected to, in order;
    host and none show as themselves, container:X has none of its own."""
    from minicontainer.network.networks import PREDEFINED_DRIVERS, NetworkStore

    def store():  # only a network without a live endpoint needs its record read
        return NetworkStore(rt.root)
    live = {ep.network: ep for ep in rec.endpoints}
    asked = {a.network: a for a in rec.networks}
    if not asked and not live:
        mode = rec.network_mode
        return {mode: endpoint_json(None, None, store().predefined(mode).id)} if mode in PREDEFINED_DRIVERS else {}
    out = {}
    for name in list(dict.fromkeys([*asked, *live])):
        a, ep = asked.get(name), live.get(name)
        net = None if ep else store().load(name)
        out[name] = endpoint_json(ep, a, net.id if net else "", _dns_names(rec, name, a.aliases if a else ()) if ep else None)
    return out


def _network_settings(rt, rec) -> dict:
    running = rec.running
    # the top-level address fields are the default bridge network's only (deprecated in Docker's API)
    ep = rec.endpoint_on("bridge")
    endpoint = endpoint_json(ep)
    sandbox = (rec.endpoints[0].sandbox_key if rec.endpoints else "") or (f"/proc/{rec.pid}/ns/net" if running else "")
    return {
        "Bridge": "", "SandboxID": rec.id if running else "", "SandboxKey": sandbox,
        "Ports": ports_map(rec), "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None, "EndpointID": endpoint["EndpointID"],
        "Gateway": endpoint["Gateway"], "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": endpoint["IPAddress"], "IPPrefixLen": endpoint["IPPrefixLen"], "IPv6Gateway": "",
        "MacAddress": endpoint["MacAddress"], "Networks": networks_json(rt, rec),
    }


def _links(rec) -> list[str] | None:
    """HostConfig.Links as Docker shows a --link NAME:ALIAS: "/NAME:/CONTAINER/ALIAS"."""
    links = rec.host_config.get("Links") or []
    return [f"/{n}:/{rec.name}/{a}" for n, _, a in (link.partition(":") for link in links)] or None


def _etc_owner(rt, rec) -> str:
    """Whose /etc files it sees: its own, or (container:X) X's while X exists."""
    from minicontainer.errors import NoSuchContainer
    try:
        return rt.network_mode(rec.network_mode).etc_owner(rec.id)
    except NoSuchContainer:
        return rec.id


def host_config_json(rec) -> dict:
    """HostConfig with every key Docker 20.10 shows, in its order; what minicontainer does not set
    (yet) shows Docker's value for "not set"."""
    hc = rec.host_config
    privileged = bool(hc.get("Privileged"))
    tmpfs = {m.target: m.tmpfs_options for m in rec.mounts if m.tmpfs_flag}
    return {
        "Binds": hc.get("Binds"), "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": rec.network_mode, "PortBindings": port_bindings(rec),
        "RestartPolicy": hc.get("RestartPolicy") or {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": hc.get("AutoRemove", False),
        "VolumeDriver": "", "VolumesFrom": None, "CapAdd": hc.get("CapAdd"), "CapDrop": hc.get("CapDrop"),
        "CgroupnsMode": "host", "Dns": hc.get("Dns") or [], "DnsOptions": hc.get("DnsOptions") or [],
        "DnsSearch": hc.get("DnsSearch") or [], "ExtraHosts": hc.get("ExtraHosts"), "GroupAdd": None,
        "IpcMode": "private", "Cgroup": "", "Links": _links(rec), "OomScoreAdj": 0, "PidMode": hc.get("PidMode", ""),
        "Privileged": privileged, "PublishAllPorts": False, "ReadonlyRootfs": hc.get("ReadonlyRootfs", False),
        "SecurityOpt": hc.get("SecurityOpt"), "UTSMode": hc.get("UTSMode", ""), "UsernsMode": "",
        "ShmSize": 67108864, "Runtime": "minicontainer", "ConsoleSize": [0, 0], "Isolation": "",
        "CpuShares": hc.get("CpuShares", 0), "Memory": hc.get("Memory", 0), "NanoCpus": hc.get("NanoCpus", 0),
        "CgroupParent": hc.get("CgroupParent", ""), "BlkioWeight": hc.get("BlkioWeight", 0), "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [],
        "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
        "CpusetCpus": hc.get("CpusetCpus", ""), "CpusetMems": "", "Devices": hc.get("Devices") or [],
        "DeviceCgroupRules": hc.get("DeviceCgroupRules"), "DeviceRequests": None, "KernelMemory": 0,
        "KernelMemoryTCP": 0, "MemoryReservation": hc.get("MemoryReservation", 0),
        "MemorySwap": hc.get("MemorySwap", 0), "MemorySwappiness": None,
        "OomKillDisable": hc.get("OomKillDisable", False), "PidsLimit": hc.get("PidsLimit"),
        "Ulimits": hc.get("Ulimits") or [],
        "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
        **({"Tmpfs": tmpfs} if tmpfs else {}),  # omitempty in Docker's struct, as Sysctls
        **({"Sysctls": hc["Sysctls"]} if hc.get("Sysctls") else {}),
        **({"Init": True} if hc.get("Init") else {}),
        # --privileged: nothing masked or read-only, and Docker shows null
        "MaskedPaths": None if privileged else list(MASKED_PATHS),
        "ReadonlyPaths": None if privileged else list(READONLY_PATHS),
    }


def container_json(rt, rec) -> dict:
    store = rt.containers
    owner = _etc_owner(rt, rec)
    cmd = rec.command
    image = rt.images.find(rec.image_id)
    lower = ":".join(rt.images.lower_dirs(image)) if image else ""
    return {
        "Id": rec.id,
        "Created": rec.created,
        "Path": cmd[0] if cmd else "",
        "Args": cmd[1:],
        "State": {
            "Status": rec.state, "Running": rec.running, "Paused": rec.paused and rec.running, "Restarting": rec.status == "restarting",
            "OOMKilled": rec.oom_killed, "Dead": False, "Pid": rec.pid if rec.running else 0, "ExitCode": rec.exit_code,
            "Error": rec.error, "StartedAt": rec.started_at, "FinishedAt": rec.finished_at or ZERO_TIME,
        },
        "Image": rec.image_id,
        "ResolvConfPath": store.path(owner, "resolv.conf"),
        "HostnamePath": store.path(owner, "hostname"),
        "HostsPath": store.path(owner, "hosts"),
        "LogPath": store.log_path(rec.id),
        "Name": "/" + rec.name,
        "RestartCount": rec.restart_count,
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": None,
        "HostConfig": host_config_json(rec),
        "GraphDriver": {
            "Data": {"LowerDir": lower, "MergedDir": store.path(rec.id, "merged"),
                     "UpperDir": store.path(rec.id, "upper"), "WorkDir": store.path(rec.id, "work")},
            "Name": "overlay",
        },
        "Mounts": mounts_json(rec.mounts),
        "Config": {**{k: rec.config.get(k) for k in (
            "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
            "OpenStdin", "StdinOnce", "Env", "Cmd", "Image")},
            "Volumes": rec.config.get("Volumes"), "ExposedPorts": rec.config.get("ExposedPorts"), "WorkingDir": rec.config.get("WorkingDir", ""),
            "Entrypoint": rec.config.get("Entrypoint"), "OnBuild": None, "Labels": rec.config.get("Labels") or {}},
        "NetworkSettings": _network_settings(rt, rec),
    }


def image_json(rt, img) -> dict:
    config = rt.images.config_json(img)
    return {
        "Id": img.id, "RepoTags": img.repo_tags, "RepoDigests": img.repo_digests, "Parent": "",
        "Comment": img.comment, "Created": img.created, "DockerVersion": config.get("docker_version", ""),
        "Author": config.get("author", ""), "Config": img.config,
        "Architecture": img.architecture, **({"Variant": config["variant"]} if config.get("variant") else {}),
        "Os": img.os, "Size": img.size,
        "GraphDriver": {"Data": {"LowerDir": ":".join(rt.images.lower_dirs(img))}, "Name": "overlay"},
        "RootFS": {"Type": "layers", "Layers": img.layers},
    }


def network_json(net, containers) -> dict:
    """`network inspect`: one network as Docker shows it, with the running containers attached to it
    (for host and none: those running in that mode)."""
    users = {}
    for r in containers:
        ep = r.endpoint_on(net.name)
        if ep is not None:
            users[r.id] = {"Name": r.name, "EndpointID": ep.endpoint_id, "MacAddress": ep.mac,
                           "IPv4Address": f"{ep.ip}/{ep.prefixlen}", "IPv6Address": ""}
        elif net.driver != "bridge" and r.network_mode == net.name:
            users[r.id] = {"Name": r.name, "EndpointID": "", "MacAddress": "", "IPv4Address": "", "IPv6Address": ""}
    if net.driver != "bridge":
        return {"Name": net.name, "Id": net.id, "Created": net.created or ZERO_TIME, "Scope": "local",
                "Driver": net.driver, "EnableIPv4": True, "EnableIPv6": False,
                "IPAM": {"Driver": "default", "Options": None, "Config": []}, "Internal": False,
                "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
                "Containers": users, "Options": {}, "Labels": {}}
    config: dict = {"Subnet": net.subnet, "Gateway": net.gateway}
    if net.ip_range:
        config["IPRange"] = net.ip_range
    options = {"com.docker.network.bridge.name": net.bridge, **net.options,
               "minicontainer.iptables.chain_prefix": net.chain_prefix,
               "minicontainer.iptables.backend": net.firewall_backend}
    return {"Name": net.name, "Id": net.id, "Created": net.created or ZERO_TIME, "Scope": "local",
            "Driver": "bridge", "EnableIPv4": True, "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": [config]},
            "Internal": net.internal, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
            "ConfigOnly": False, "Containers": users, "Options": options, "Labels": dict(net.labels)}
