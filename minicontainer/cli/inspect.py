"""`inspect` output: a container or image as Docker's JSON, keys in Docker's order."""

from __future__ import annotations

from minicontainer.kernel.mounts import MASKED_PATHS, READONLY_PATHS
from minicontainer.runtime.volumes import mounts_json
from minicontainer.store.containers import ZERO_TIME


def ports_map(rec) -> dict:
    """NetworkSettings.Ports: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, ...]}; empty when stopped."""
    out: dict = {}
    for p in rec.extra.get("ports", []):
        out.setdefault(f"{p['container_port']}/{p['proto']}", []).append(
            {"HostIp": p["host_ip"], "HostPort": str(p["host_port"])})
    return out


def _network_settings(rec) -> dict:
    mode = rec.host_config["NetworkMode"]
    ep = rec.extra.get("endpoint") or {}
    running = rec.running
    network_name = ep.get("Network", mode)
    endpoint = {
        "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": ep.get("MacAddress", ""),
        "DriverOpts": None, "NetworkID": ep.get("NetworkID", ""), "EndpointID": ep.get("EndpointID", ""),
        "Gateway": ep.get("Gateway", ""), "IPAddress": ep.get("IPAddress", ""), "IPPrefixLen": ep.get("IPPrefixLen", 0),
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None,
    }
    sandbox = ep.get("SandboxKey") or (f"/proc/{rec.pid}/ns/net" if running else "")
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
            "NetworkMode": rec.host_config["NetworkMode"], "PortBindings": rec.host_config.get("PortBindings", {}),
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
        "Mounts": mounts_json(rec.extra.get("mounts", [])),
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
    users = {r.id: {"Name": r.name, "EndpointID": r.extra["endpoint"]["EndpointID"],
                    "MacAddress": r.extra["endpoint"]["MacAddress"],
                    "IPv4Address": f"{r.extra['endpoint']['IPAddress']}/{net.prefixlen}", "IPv6Address": ""}
             for r in containers}
    return {"Name": net.name, "Id": net.id, "Scope": "local", "Driver": "bridge", "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": [{"Subnet": net.subnet, "Gateway": net.gateway}]},
            "Internal": False, "Attachable": False, "Containers": users,
            "Options": {"com.docker.network.bridge.name": net.bridge,
                        "minicontainer.iptables.chain_prefix": net.chain_prefix}}
