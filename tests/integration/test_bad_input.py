"""Bad input across the commands: each case gets Docker's one-line error and exit code, and the host
(kernel objects and state records) is exactly as it was before the command."""

import re

import pytest

from minicontainer import residue

NOSUCH = "Error response from daemon: No such container: nosuch"

# (argv, exit code, what stderr's first line says: a string to match exactly, or re.Pattern)
CASES = [
    # ports
    (["run", "-p", "99999:80", "busybox", "true"], 125, "minicontainer: invalid hostPort: 99999"),
    (["run", "-p", "abc", "busybox", "true"], 125, "minicontainer: invalid containerPort: abc"),
    (["run", "-p", "65536", "busybox", "true"], 125, "minicontainer: invalid containerPort: 65536"),
    (["run", "-p", "80:80/sctpx", "busybox", "true"], 125, "minicontainer: invalid proto: sctpx"),
    (["run", "-p", "1.2.3.4.5:80:80", "busybox", "true"], 125, "minicontainer: invalid IP address: 1.2.3.4.5"),
    (["run", "-p", "21090-:80", "busybox", "true"], 125, "minicontainer: invalid hostPort: 21090-"),
    (["run", "--expose", "80:80", "busybox", "true"], 125, "minicontainer: invalid port format for --expose: 80:80"),
    (["run", "--expose", "abc", "busybox", "true"], 125,
     'minicontainer: invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax'),
    (["run", "-p", "8080-8081:80-82", "busybox", "true"], 125,
     "minicontainer: invalid ranges specified for container and host Ports: 80-82 and 8080-8081"),
    # namespaces
    (["run", "--uts", "bad", "busybox", "true"], 125, "minicontainer: Error response from daemon: invalid UTS mode: bad"),
    (["run", "--uts", "host", "-h", "foo", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: conflicting options: hostname and the UTS mode"),
    (["run", "--pid", "bad", "busybox", "true"], 125, "minicontainer: Error response from daemon: invalid PID mode: bad"),
    (["--iptables-backend", "pf", "ps"], 125,
     'minicontainer: invalid argument "pf" for "--iptables-backend" flag: legacy or nft'),
    (["volume", "create", "-o", "device=/srv", "bad-opts"], 1,
     'Error response from daemon: create bad-opts: missing required option: "type"'),
    # volumes and mounts
    (["run", "-v", "/tmp:relative", "busybox", "true"], 125, re.compile(r"mount path: 'relative' mount path must be absolute$")),
    (["run", "-v", ":/data", "busybox", "true"], 125, "minicontainer: invalid spec: :/data: empty section between colons"),
    (["run", "-v", "", "busybox", "true"], 125, "minicontainer: invalid empty volume spec"),
    (["run", "--tmpfs", "/t:bogus", "busybox", "true"], 125, 'minicontainer: Error response from daemon: invalid tmpfs option ["bogus"]'),
    (["run", "--mount", "type=volume,destination=/p,rw=false", "busybox", "true"], 125,
     "minicontainer: invalid argument \"type=volume,destination=/p,rw=false\" for \"--mount\" flag: "
     "unexpected key 'rw' in 'rw=false'"),
    (["run", "-v", "/tmp:/data", "-v", "/srv:/data", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: Duplicate mount point: /data"),
    (["network", "create", "a/b"], 1, re.compile(r"^Error response from daemon: invalid network name: 'a/b' ")),
    (["run", "-v", "/a:/b:rx", "busybox", "true"], 125, "minicontainer: Error response from daemon: invalid mode: rx"),
    (["run", "-v", "/a:/b:ro,rw", "busybox", "true"], 125, "minicontainer: Error response from daemon: invalid mode: ro,rw"),
    (["run", "-v", "/a:/", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: invalid specification: destination can't be '/'"),
    (["run", "--mount", "type=bind,target=/x", "busybox", "true"], 125,
     'minicontainer: Error response from daemon: invalid mount config for type "bind": field Source must not be empty'),
    (["run", "--mount", "type=bind,source=/nonexistent-mc,target=/x", "busybox", "true"], 125,
     'minicontainer: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: '
     "/nonexistent-mc"),
    (["run", "--mount", "type=weird,target=/x", "busybox", "true"], 125,
     'minicontainer: invalid argument "type=weird,target=/x" for "--mount" flag: invalid type: weird'),
    (["run", "--mount", "source=v", "busybox", "true"], 125,
     'minicontainer: invalid argument "source=v" for "--mount" flag: target is required'),
    (["run", "--mount", "type=tmpfs,source=/x,target=/y", "busybox", "true"], 125,
     'minicontainer: Error response from daemon: invalid mount config for type "tmpfs": field Source must be empty'),
    (["run", "--mount", "type=volume,source=/abs,target=/y", "busybox", "true"], 125,
     re.compile(r'"/abs" includes invalid characters for a local volume name')),
    (["run", "--mount", "type=bind,src=/tmp,dst=/x,readonly=maybe", "busybox", "true"], 125,
     'minicontainer: invalid argument "type=bind,src=/tmp,dst=/x,readonly=maybe" for "--mount" flag: '
     "invalid value for readonly: maybe"),
    # names
    (["run", "--name", "bad name!", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"),
    (["run", "--name", "a", "busybox", "true"], 125, re.compile(r"Invalid container name \(a\)")),
    (["run", "--name", "taken", "busybox", "true"], 125,
     re.compile(r'^minicontainer: Error response from daemon: Conflict. The container name "/taken" is already in use '
                r'by container "[0-9a-f]{64}". You have to remove \(or rename\) that container')),
    # network modes and conflicting flags
    (["run", "--network", "nosuchnet", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: network nosuchnet not found"),
    (["run", "--network", "container:nosuch", "busybox", "true"], 125, "minicontainer: " + NOSUCH),
    (["run", "--network", "container:taken", "-p", "80:80", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: conflicting options: port publishing and the container type network mode"),
    (["run", "--network", "container:taken", "-h", "foo", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: conflicting options: hostname and the network mode"),
    (["run", "-it", "busybox", "true"], 1, "minicontainer: the input device is not a TTY"),
    # several networks and static addresses
    (["run", "--network", "bridge", "--network", "lab0", "busybox", "true"], 125,
     "minicontainer: conflicting options: cannot attach both user-defined and non-user-defined network-modes"),
    (["run", "--network", "bridge", "--network", "bridge", "busybox", "true"], 125,
     'minicontainer: network "bridge" is specified multiple times'),
    (["run", "--network", "bridge", "--network", "host", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: cannot connect container to host network - container must be created "
     "in host network mode"),
    (["run", "--network", "host", "--network", "none", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: container sharing network namespace with another container or host "
     "cannot be connected to any other network"),
    (["run", "--ip", "10.1.2.3", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: invalid config for network bridge: invalid endpoint settings: "
     "user-specified IP address is supported on user-defined networks only"),
    (["run", "--ip", "abc", "busybox", "true"], 125,
     'minicontainer: invalid argument "abc" for "--ip" flag: invalid string being converted to IP address: abc'),
    (["run", "--ip6", "fd00::2", "busybox", "true"], 125, "minicontainer: IPv6 is not supported by minicontainer yet: --ip6 fd00::2"),
    (["run", "--mac-address", "zz:zz", "busybox", "true"], 125, "minicontainer: zz:zz is not a valid mac address"),
    (["run", "--network-alias", "web", "busybox", "true"], 125,
     "minicontainer: network-scoped aliases are only supported for user-defined networks"),
    (["run", "--network", "name=lab0,bogus=1", "busybox", "true"], 125, "minicontainer: invalid field key bogus"),
    # names: resolv.conf, /etc/hosts, links
    (["run", "--dns", "1.2.3", "busybox", "true"], 125,
     'minicontainer: invalid argument "1.2.3" for "--dns" flag: ip address is not correctly formatted: "1.2.3"'),
    (["run", "--dns-search", "-bad-", "busybox", "true"], 125,
     'minicontainer: invalid argument "-bad-" for "--dns-search" flag: -bad- is not a valid domain'),
    (["run", "--add-host", "nohost", "busybox", "true"], 125,
     'minicontainer: invalid argument "nohost" for "--add-host" flag: bad format for add-host: "nohost"'),
    (["run", "--add-host", "db:10.0.0.300", "busybox", "true"], 125,
     'minicontainer: invalid argument "db:10.0.0.300" for "--add-host" flag: invalid IP address in add-host: "10.0.0.300"'),
    (["run", "--link", "a:b:c", "busybox", "true"], 125,
     'minicontainer: invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c'),
    (["run", "--network", "host", "--link", "taken", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: conflicting options: host type networking can't be used with links. "
     "This would result in undefined behavior"),
    (["run", "--network", "container:taken", "--dns", "1.1.1.1", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: conflicting options: dns and the network mode"),
    (["run", "--network", "container:taken", "--add-host", "a:1.2.3.4", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: conflicting options: custom host-to-IP mapping and the network mode"),
    (["run", "--name", "me", "--network", "container:me", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: cannot join own network namespace"),
    (["run", "--link", "nosuch:db", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: could not get container for nosuch: No such container: nosuch"),
    (["run", "--pull", "sometimes", "busybox", "true"], 125,
     "minicontainer: invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\""),
    (["run", "-w", "relative", "busybox", "true"], 125,
     "minicontainer: Error response from daemon: the working directory 'relative' is invalid, it needs to be an absolute path"),
    (["run", "--entrypoint", "", "busybox"], 125, "minicontainer: Error response from daemon: no command specified"),
    (["run", "--bogus", "busybox", "true"], 125, "minicontainer: unknown flag: --bogus"),
    (["stop", "-t", "x", "nosuch"], 125, re.compile(r'invalid argument "x" for "-t, --time" flag')),
    # images
    (["run", "--pull", "never", "nosuchimage"], 125, "minicontainer: Error response from daemon: No such image: nosuchimage:latest"),
    (["run", "UPPER/Case", "true"], 125, "minicontainer: invalid reference format: repository name (UPPER/Case) must be lowercase"),
    (["rmi", "nosuchimage"], 1, "Error response from daemon: No such image: nosuchimage"),
    # cp paths
    (["cp", "nosuch:/a", "/tmp/b"], 1, NOSUCH),
    (["cp", "/tmp/a", "/tmp/b"], 1, "must specify at least one container source"),
    (["cp", "taken:/nonexistent", "/tmp"], 1, "Error response from daemon: Could not find the file /nonexistent in container taken"),
    (["cp", "/nonexistent-mc", "taken:/"], 1, "lstat /nonexistent-mc: no such file or directory"),
    # missing containers and wrong states
    (["stop", "nosuch"], 1, NOSUCH),
    (["rm", "nosuch"], 1, NOSUCH),
    (["exec", "nosuch", "true"], 1, NOSUCH),
    (["logs", "nosuch"], 1, NOSUCH),
    (["port", "nosuch"], 1, NOSUCH),
    (["inspect", "nosuch"], 1, "Error: No such object: nosuch"),
    (["rm", "taken"], 1, re.compile(r"^Error response from daemon: You cannot remove a running container [0-9a-f]{64}\. "
                                    r"Stop the container before attempting removal or force remove$")),
    (["kill", "-s", "NOPE", "taken"], 1, "Invalid signal: NOPE"),
    # networks, volumes, commands
    (["network", "create", "--subnet", "10.0.0.0/33", "n1"], 1, re.compile(r"^Error response from daemon: invalid subnet 10.0.0.0/33")),
    (["network", "create", "bridge"], 1, "Error response from daemon: network with name bridge already exists"),
    (["network", "rm", "nosuchnet"], 1, "Error response from daemon: network nosuchnet not found"),
    (["network", "rm", "bridge"], 1, "Error response from daemon: bridge is a pre-defined network and cannot be removed"),
    (["network", "rm", "host"], 1, "Error response from daemon: host is a pre-defined network and cannot be removed"),
    (["network", "inspect", "nosuchnet"], 1, "Error: No such network: nosuchnet"),
    (["network", "connect", "nosuchnet", "taken"], 1, "Error response from daemon: network nosuchnet not found"),
    (["network", "connect", "bridge", "nosuch"], 1, NOSUCH),
    (["network", "connect", "bridge", "taken"], 1, "Error response from daemon: container cannot be connected to "
                                                   "multiple networks with one of the networks in private (none) mode"),
    (["network", "connect", "--alias", "x", "bridge", "taken"], 1,
     "Error response from daemon: network-scoped aliases are only supported for user-defined networks"),
    (["network", "disconnect", "bridge", "taken"], 1,
     re.compile(r"^Error response from daemon: container [0-9a-f]{64} is not connected to network bridge$")),
    (["network", "create", "--gateway", "10.79.0.1", "n1"], 1, "every ip-range or gateway must have a corresponding subnet"),
    (["network", "create", "--subnet", "10.79.0.0/24", "--subnet", "10.79.1.0/24", "n1"], 1,
     "Error response from daemon: bridge driver doesn't support multiple subnets"),
    (["network", "create", "--subnet", "10.79.0.0/24", "--ip-range", "10.79.9.0/25", "n1"], 1,
     "no matching subnet for range 10.79.9.0/25"),
    (["network", "create", "--subnet", "10.79.0.0/24", "--gateway", "10.79.5.1", "n1"], 1,
     "no matching subnet for gateway 10.79.5.1"),
    (["network", "create", "-o", "com.docker.network.driver.mtu=abc", "n1"], 1,
     'Error response from daemon: failed to parse com.docker.network.driver.mtu value: abc (strconv.Atoi: parsing "abc": '
     "invalid syntax)"),
    (["network", "create", "-o", "com.docker.network.bridge.enable_icc=maybe", "n1"], 1,
     'Error response from daemon: failed to parse com.docker.network.bridge.enable_icc value: maybe '
     '(strconv.ParseBool: parsing "maybe": invalid syntax)'),
    (["network", "create", "-o", "com.docker.network.bridge.host_binding_ipv4=nope", "n1"], 1,
     "Error response from daemon: failed to parse com.docker.network.bridge.host_binding_ipv4 value: nope (nil ip)"),
    (["network", "create", "-o", "com.docker.network.bridge.name=averyveryverylongname", "n1"], 1,
     re.compile(r"^Error response from daemon: invalid bridge name: averyveryverylongname")),
    (["network", "create", "--ipv6", "n1"], 1, "IPv6 networks are not supported by minicontainer yet (--ipv6)"),
    (["volume", "rm", "nosuchvol"], 1, "Error response from daemon: get nosuchvol: no such volume"),
    (["volume", "create", "bad/name"], 1, re.compile(r'^Error response from daemon: create bad/name: "bad/name" includes invalid')),
    (["frobnicate"], 1, "minicontainer: 'frobnicate' is not a minicontainer command."),
    (["rename", "taken", "taken"], 1, "Error response from daemon: Renaming a container with the same name as its current name"),
    (["rename", "taken", "bad name!"], 1,
     "Error response from daemon: Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"),
    (["rename", "nosuch", "x1"], 1, NOSUCH),
    (["rename", "taken", " "], 1, "Error: Neither old nor new names may be empty"),
    (["events", "--since", "yesterday"], 1, 'invalid value for "--since": yesterday'),
    (["events", "-f", "colour=red", "--until", "0s"], 1, "Error response from daemon: invalid filter 'colour'"),
    (["tag", "busybox", "bad name"], 1,
     'Error parsing reference: "bad name" is not a valid repository/tag: invalid reference format'),
    (["tag", "nosuchimage", "x"], 1, "Error response from daemon: No such image: nosuchimage"),
    (["system", "service", "unix:///nonexistent-dir-mc/d.sock"], 1,
     "cannot listen on unix:///nonexistent-dir-mc/d.sock: no such directory: /nonexistent-dir-mc"),
    (["system", "service", "unix:///tmp/" + "x" * 110], 1,
     re.compile(r"^cannot listen on unix:///tmp/x+: AF_UNIX path too long")),
    (["system", "service", "http://localhost"], 125, "invalid listen address http://localhost: unix://PATH or tcp://HOST:PORT"),
    (["system", "service", "--time", "-1"], 125, 'invalid argument "-1" for "-t, --time" flag: must not be negative'),
]

USAGE_HINT = re.compile(r"^See 'minicontainer( \w+)* --help'\.?$")


@pytest.fixture
def host(mc):
    """A running container named `taken` (none network: no bridge) for the cases that need one."""
    mc.ok("run", "-d", "--name", "taken", "--network", "none", "busybox", "sleep", "300")
    yield mc


@pytest.mark.parametrize("argv,code,first", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_bad_input(host, argv, code, first):
    before = residue.snapshot([host.root], marker="PYTEST_CURRENT_TEST")
    proc = host(*argv)
    lines = proc.stderr.splitlines()
    assert proc.returncode == code, proc.stderr
    assert lines, "no error message"
    if isinstance(first, re.Pattern):
        assert first.search(lines[0]), lines[0]
    else:
        assert lines[0] == first
    assert all(USAGE_HINT.match(line) for line in lines[1:]), f"more than one line of error: {lines}"
    prints_list = argv[0] == "inspect" or argv[:2] == ["network", "inspect"]
    assert proc.stdout == ("[]\n" if prints_list else "")  # docker inspect prints [] too
    diff = residue.difference(before, residue.snapshot([host.root], marker="PYTEST_CURRENT_TEST"))
    assert not diff, f"{argv} changed the host:\n" + "\n".join(diff)


def test_the_table_is_large_enough():
    assert len(CASES) >= 40
    commands = {argv[0] for argv, _, _ in CASES}
    assert {"run", "cp", "stop", "rm", "exec", "logs", "inspect", "network", "volume", "rmi", "kill"} <= commands
