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
        out.setdefault(b.key, []).append({"HostIp": b.host_ip, "HostPort": str(b.host_port) if b.host_port else ""})
    return out


def mounts_json(mounts: list[MountRecord]) -> list[dict]:
    """inspect's `Mounts`, fields in Docker's order."""
    out = []
    for mnt in mounts:
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


def endpoint_json(ep: Endpoint | None) -> dict:
    """One entry of NetworkSettings.Networks (empty values for a container with no endpoint)."""
    ep = ep or _NO_ENDPOINT
    return {
        "IPAMConfig": None, "Links": None, "Aliases": list(ep.aliases) or None, "MacAddress": ep.mac,
        "DriverOpts": None, "NetworkID": ep.network_id, "EndpointID": ep.endpoint_id, "Gateway": ep.gateway,
        "IPAddress": ep.ip, "IPPrefixLen": ep.prefixlen,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None,
    }


def _network_settings(rec) -> dict:
    ep = rec.endpoints[0] if rec.endpoints else None
    running = rec.running
    network_name = ep.network if ep else rec.network_mode
    endpoint = endpoint_json(ep)
    sandbox = (ep.sandbox_key if ep else "") or (f"/proc/{rec.pid}/ns/net" if running else "")
    return {
        "Bridge": "", "SandboxID": rec.id if running else "", "SandboxKey": sandbox,
        "Ports": ports_map(rec), "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None, "EndpointID": endpoint["EndpointID"],
        "Gateway": endpoint["Gateway"], "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": endpoint["IPAddress"], "IPPrefixLen": endpoint["IPPrefixLen"], "IPv6Gateway": "",
        "MacAddress": endpoint["MacAddress"], "Networks": {network_name: endpoint},
    }


def container_json(rt, rec) -> dict:
    store = rt.containers
    cmd = rec.command
    image = rt.images.find(rec.image_id)
    lower = ":".join(rt.images.lower_dirs(image)) if image else ""
    return {
        "Id": rec.id,
        "Created": rec.created,
        "Path": cmd[0] if cmd else "",
        "Args": cmd[1:],
        "State": {
            "Status": rec.status, "Running": rec.running, "Paused": False, "Restarting": False,
            "OOMKilled": False, "Dead": False, "Pid": rec.pid if rec.running else 0, "ExitCode": rec.exit_code,
            "Error": rec.error, "StartedAt": rec.started_at, "FinishedAt": rec.finished_at or ZERO_TIME,
        },
        "Image": rec.image_id,
        "ResolvConfPath": store.path(rec.id, "resolv.conf"),
        "HostnamePath": store.path(rec.id, "hostname"),
        "HostsPath": store.path(rec.id, "hosts"),
        "LogPath": store.log_path(rec.id),
        "Name": "/" + rec.name,
        "RestartCount": 0,
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": None,
        "HostConfig": {
            "Binds": rec.host_config.get("Binds"), "LogConfig": {"Type": "json-file", "Config": {}},
            "NetworkMode": rec.network_mode, "PortBindings": port_bindings(rec),
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
            "AutoRemove": rec.host_config.get("AutoRemove", False),
            "CgroupnsMode": "host", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
            "IpcMode": "private", "PidMode": "", "Privileged": False, "PublishAllPorts": False,
            "ReadonlyRootfs": False, "UTSMode": "", "ShmSize": 67108864, "Runtime": "minicontainer",
            "MaskedPaths": list(MASKED_PATHS), "ReadonlyPaths": list(READONLY_PATHS),
        },
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
            "Entrypoint": rec.config.get("Entrypoint"), "OnBuild": None, "Labels": {}},
        "NetworkSettings": _network_settings(rec),
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
    """`network inspect`: one network as Docker shows it, with the running containers attached to it."""
    users = {}
    for r in containers:
        ep = r.endpoint_on(net.name)
        users[r.id] = {"Name": r.name, "EndpointID": ep.endpoint_id, "MacAddress": ep.mac,
                       "IPv4Address": f"{ep.ip}/{net.prefixlen}", "IPv6Address": ""}
    return {"Name": net.name, "Id": net.id, "Scope": "local", "Driver": "bridge", "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": [{"Subnet": net.subnet, "Gateway": net.gateway}]},
            "Internal": False, "Attachable": False, "Containers": users,
            "Options": {"com.docker.network.bridge.name": net.bridge,
                        "minicontainer.iptables.chain_prefix": net.chain_prefix}}
