"""`minicontainer trace`: which flow to follow, then the sequence (network/nftrace.py): monitor
first, then the marking table, then the probe (or the user's own traffic), until enough packets
were seen or time is up; the table goes in every case."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from dataclasses import dataclass

from minicontainer.errors import MCError
from minicontainer.network.nftrace import Match, Packet, TraceTable, monitor, parse
from minicontainer.network.tracemarks import sweep

PROTOCOLS = ("tcp", "udp", "icmp")


@dataclass
class Target:
    match: Match
    said: str           # what is followed, in words
    container: str = ""


def _port(text: str, what: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise MCError(f"invalid {what} port: {text}", 125)
    return int(text)


def target(rt, to: str, frm: str, proto: str) -> Target:
    """--to CONTAINER[:PORT] or ADDR:PORT, --from CONTAINER|host|ADDR, as a Match."""
    import ipaddress
    if proto not in PROTOCOLS:
        raise MCError(f"invalid --proto {proto}: tcp, udp or icmp", 125)
    if not to:
        raise MCError("trace needs --to CONTAINER[:PORT] or --to ADDR:PORT", 125)
    head, _, port_text = to.rpartition(":") if ":" in to else (to, "", "")
    port = _port(port_text, "destination") if port_text else None
    saddr, from_host = "", None
    if frm == "host":
        from_host = True
    elif frm:
        try:
            saddr = str(ipaddress.ip_address(frm))
        except ValueError:
            src = rt.get(frm)
            saddr = next((ep.ip for ep in src.endpoints if ep.ip), "")
            if not saddr:
                raise MCError(f"container {src.name} has no address of its own to trace from", 125) from None
    try:
        addr = str(ipaddress.ip_address(head))
    except ValueError:
        return _to_container(rt, head, port, proto, saddr, from_host)
    if port is None and proto != "icmp":
        raise MCError(f"--to {to}: an address needs a port (ADDR:PORT), or --proto icmp", 125)
    return Target(Match((addr,), (port,) if port else (), proto, saddr, from_host), f"{proto} to {to}")


def _to_container(rt, ref: str, port: int | None, proto: str, saddr: str, from_host) -> Target:
    """Packets for the container's address (and port), and for the host ports published to it
    (before their DNAT, these are what arrive)."""
    rec = rt.get(ref)
    if not rec.running:
        raise MCError(f"Error response from daemon: container {rec.name} is not running", 1)
    ips = tuple(ep.ip for ep in rec.endpoints if ep.ip)
    if not ips:
        raise MCError(f"container {rec.name} has no address of its own (--network {rec.network_mode}): trace "
                      "the host's address and port instead (--to ADDR:PORT)", 125)
    if proto == "icmp":
        return Target(Match(ips, (), proto, saddr, from_host), f"icmp to {rec.name}", rec.name)
    ports = [port] if port else []
    published = [p.host_port for p in rec.ports if p.proto == proto and (port is None or p.container_port == port)]
    if port is None and not published:
        raise MCError(f"container {rec.name} publishes no {proto} port: name one (--to {rec.name}:PORT)", 125)
    # the container's own address with its port, or any address with a published host port: one set of ports
    dports = tuple(sorted({*ports, *published}))
    return Target(Match((), dports, proto, saddr, from_host), f"{proto} to {rec.name}"
                  + (f" port {port}" if port else "") + (f" (host ports {', '.join(map(str, sorted(set(published))))})"
                                                          if published else ""), rec.name)


@dataclass
class Traced:
    packets: list[Packet]    # at most count, in the order they were first seen
    probe_status: int | None  # the probe's exit status (None without one)
    marking_table: str       # the table that marked them (its events are the marks themselves)


def follow(root_lib: str, match: Match, count: int, timeout: float, probe: list[str] | None) -> Traced:
    """Trace the flow until count packets were seen (and their way is complete), the probe ended,
    or timeout seconds passed."""
    sweep(root_lib)
    events: queue.Queue = queue.Queue()
    listening = threading.Event()
    table = TraceTable(root_lib, match)
    mon = monitor()

    def read() -> None:
        assert mon.stdout is not None  # a pipe: monitor() asks for one
        for line in mon.stdout:
            parsed = parse(line)
            if parsed:
                events.put(parsed)
            elif table.name and line.startswith((f"add table ip {table.name}", f"add chain ip {table.name} ready_")):
                listening.set()  # the monitor saw our table change: it sees every mark from here on
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    packets: list[Packet] = []
    current: dict[str, Packet] = {}  # trace id -> the packet its events belong to now
    last_marked: Packet | None = None
    status, child = None, None
    try:
        table.open()
        for nudge in range(1, 51):  # it may have subscribed after the table was made: change it until seen
            if listening.wait(0.1):
                break
            table.nudge(nudge)
        else:
            raise MCError("nft monitor did not start listening (is nf_tables available here?)", 1)
        child = subprocess.Popen(probe) if probe else None
        deadline = time.monotonic() + timeout
        grace, last = None, time.monotonic()
        while time.monotonic() < (grace or deadline):
            if child is not None and grace is None and child.poll() is not None:
                status, grace = child.returncode, time.monotonic() + 0.5  # late events of the last packets
            try:
                trace_id, event = events.get(timeout=0.05)
            except queue.Empty:
                if child is None and len(packets) >= count and time.monotonic() - last > 0.5:
                    break  # enough packets, and their way is complete
                continue
            last = time.monotonic()
            # A packet starts where our table marks it (the kernel may give the next one the same id).
            # An id first seen elsewhere is the packet marked last, under a new id: the kernel's trace
            # id follows the packet's buffer, which forwarding may replace mid-way. Packets past
            # `count` are followed too, but not kept.
            if event.table == table.name and event.kind == "packet":
                last_marked = current[trace_id] = Packet(trace_id)
                if len(packets) < count:
                    packets.append(last_marked)
            elif trace_id not in current and last_marked is not None:
                current[trace_id] = last_marked
            if trace_id in current:
                current[trace_id].events.append(event)
    finally:
        if child is not None and child.poll() is None:  # still running at the deadline (or on an error)
            child.kill()
            child.wait()
            status = child.returncode
        table.close()
        mon.terminate()
        mon.wait()
    return Traced(packets, status, table.name)
