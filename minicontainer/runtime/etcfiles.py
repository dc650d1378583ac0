"""The /etc/hostname, /etc/hosts and /etc/resolv.conf Docker writes for each container.

They live in the container's state directory and are bind-mounted over the image's files, so the
image is never changed and the host can read (and rewrite, at a start or a connect) them. The
resolv.conf is Docker's (network/resolvconf.py); /etc/hosts is libnetwork's: the defaults, then the
--add-host and --link lines, then a line per address of the container naming it.
"""

from __future__ import annotations

from minicontainer.network import resolvconf

HOSTS_HEADER = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""
ETC_FILES = ("hostname", "hosts", "resolv.conf")  # in the container's state directory, bound over /etc/<name>


def hosts(ips: list[str], hostname: str, domainname: str = "", extra: list[tuple[str, str]] = ()) -> str:
    """extra: (names, ip) lines first (--add-host, --link); then one line per address the container
    has (one per network: Docker adds one at a connect), naming its FQDN and its short hostname."""
    names = f"{hostname}.{domainname}" if domainname else hostname
    if "." in names:
        names += " " + names.partition(".")[0]
    return HOSTS_HEADER + "".join(f"{ip}\t{n}\n" for n, ip in extra) + "".join(f"{ip}\t{names}\n" for ip in ips)


def resolv_kind(host_files: bool, networks: list[str]) -> str:
    """Which resolv.conf a container gets: the host's, one for the embedded server (a user-defined
    network among its networks), or the legacy one (the default bridge, none)."""
    from minicontainer.specs.network import is_user_defined
    if host_files:
        return "host"
    return "internal" if any(map(is_user_defined, networks)) else "legacy"


def resolv_conf(rec, host_files: bool) -> resolvconf.ResolvConf:
    return resolvconf.for_container(resolv_kind(host_files, [a.network for a in rec.networks]), rec.host_config)


def container_files(rec, host_files: bool, ips: list[str] = (), extra: list[tuple[str, str]] = ()) -> dict[str, str]:
    """The text of a container's /etc files: host mode gets the host's /etc/hosts (unless --add-host
    asks for lines of its own, as Docker), otherwise hosts names its addresses once it has them."""
    config = rec.config
    if host_files and not extra:
        hosts_text = resolvconf.read_text("/etc/hosts")
    else:
        hosts_text = hosts(list(ips), config["Hostname"], config.get("Domainname", ""), list(extra))
    return {"hostname": config["Hostname"] + "\n", "hosts": hosts_text, "resolv.conf": resolv_conf(rec, host_files).text}


def extra_hosts(rt, rec, strict: bool = True) -> list[tuple[str, str]]:
    """(names, ip) of the /etc/hosts lines --add-host and --link ask for: host-gateway is the
    default bridge's gateway (dockerd's default host-gateway-ip); a link names the linked
    container's address on the default bridge, its alias, hostname and name (as Docker writes it).
    strict: refuse a link whose container is gone or stopped (a start does); else leave it out."""
    from minicontainer.specs.dns import HOST_GATEWAY, extra_host_ip
    out = []
    for entry in rec.host_config.get("ExtraHosts") or ():
        name, ip = extra_host_ip(entry)
        if ip == HOST_GATEWAY:
            from minicontainer.network.networks import DEFAULT_NETWORK, NetworkStore
            ip = NetworkStore(rt.root).peek(DEFAULT_NETWORK).gateway
        out.append((name, ip))
    for link in rec.host_config.get("Links") or ():
        name, _, alias = link.partition(":")
        from minicontainer.errors import NoSuchContainer, StartError
        try:
            target = rt.containers.load(rt.containers.resolve(name))
        except NoSuchContainer:
            if not strict:
                continue
            raise StartError(f"could not get container for {name}: No such container: {name}", 125) from None
        ep = target.endpoint_on("bridge") if target.running else None
        if ep is None:
            if not strict:
                continue
            raise StartError(f"Cannot link to a non running container: /{target.name} AS /{rec.name}/{alias}", 125)
        names = " ".join(dict.fromkeys([alias, target.config["Hostname"]] + ([target.name] if alias != target.name else [])))
        out.append((names, ep.ip))
    return out

