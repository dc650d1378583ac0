"""The topology as an SVG picture: the host's stack on the left, bridges in the middle, containers on
the right; a published port is drawn as the path a packet takes, from the host address through the
bridge to the container. Built with ElementTree, so the document is well-formed and escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from minicontainer.show.topology import Topology

HOST_X, HOST_W = 20, 330
BRIDGE_X, BRIDGE_W = 430, 250
CTR_X, CTR_W = 770, 380
ROW = 20
FONT = "font-family:monospace;font-size:12px"
PORT_COLOR = "#c0392b"


class _Canvas:
    def __init__(self):
        self.svg = ET.Element("svg", xmlns="http://www.w3.org/2000/svg", version="1.1")
        defs = ET.SubElement(self.svg, "defs")
        marker = ET.SubElement(defs, "marker", id="arrow", viewBox="0 0 10 10", refX="10", refY="5",
                               markerWidth="8", markerHeight="8", orient="auto-start-reverse")
        ET.SubElement(marker, "path", d="M 0 0 L 10 5 L 0 10 z", fill=PORT_COLOR)
        self.bottom = 0

    def box(self, x, y, w, h, lines, fill="#ffffff", stroke="#333333", title=None, cls=""):
        g = ET.SubElement(self.svg, "g", {"class": cls} if cls else {})
        ET.SubElement(g, "rect", x=str(x), y=str(y), width=str(w), height=str(h), rx="6", fill=fill, stroke=stroke)
        for i, (text, bold) in enumerate(lines):
            t = ET.SubElement(g, "text", x=str(x + 8), y=str(y + 18 + i * ROW), style=FONT +
                              (";font-weight:bold" if bold else ""))
            t.text = text
        if title:
            ET.SubElement(g, "title").text = title
        self.bottom = max(self.bottom, y + h)
        return g

    def line(self, points, color="#333333", dashed=False, arrow=False, label=None, label_at=None):
        d = "M " + " L ".join(f"{x} {y}" for x, y in points)
        attrs = {"d": d, "fill": "none", "stroke": color, "stroke-width": "2"}
        if dashed:
            attrs["stroke-dasharray"] = "6 4"
        if arrow:
            attrs["marker-end"] = "url(#arrow)"
        ET.SubElement(self.svg, "path", attrs)
        if label:
            x, y = label_at or points[len(points) // 2]
            t = ET.SubElement(self.svg, "text", x=str(x), y=str(y), style=FONT + f";fill:{color}")
            t.text = label

    def text(self, x, y, value, style=""):
        t = ET.SubElement(self.svg, "text", x=str(x), y=str(y), style=FONT + style)
        t.text = value


def render(topo: Topology) -> str:
    c = _Canvas()
    c.text(HOST_X, 20, "minicontainer network show: follow a published port from the host to its container",
           ";font-size:14px;font-weight:bold")
    c.text(HOST_X, 36, "solid: routes, and veth pairs (host end named, ethN inside)  ·  dashed red: a published port: host port → DNAT or proxy → "
           "bridge → veth → eth0", ";fill:#555555")
    host_lines = [("host: root network namespace", True)]
    host_lines += [(f"{i.name}  {' '.join(i.addresses) or '-'}" + ("" if i.up else " (down)"), False) for i in topo.host]
    host_lines += [(f"container {n}: --net host (this stack)", False) for n in topo.host_mode]
    c.box(HOST_X, 50, HOST_W, 12 + ROW * len(host_lines), host_lines, fill="#eef5ff", cls="host")
    y = c.bottom + 40
    for net in topo.networks:
        rows = []  # (endpoint, y, height)
        cy = y
        for ep in net.endpoints:
            h = max(96 if ep.resolver else 76, 20 + 50 * len(ep.ports))
            rows.append((ep, cy, h))
            cy += h + 24
        group_h = max(90, cy - y - 24)
        by = y + group_h // 2 - 45
        c.box(BRIDGE_X, by, BRIDGE_W, 90, [
            (f"bridge {net.bridge}", True), (f"network \"{net.name}\"", False),
            (f"gateway {net.gateway}", False), (f"subnet {net.subnet}", False)],
            fill="#eafaf1" if net.in_kernel else "#fdecea", cls="bridge",
            title="MASQUERADE: containers reach the outside with the host's address")
        host_bottom = 50 + 12 + ROW * len(host_lines)
        c.line([(HOST_X + HOST_W, host_bottom - 20), (BRIDGE_X + 40, host_bottom - 20), (BRIDGE_X + 40, by)],
               color="#888888", label="routed (ip_forward=1)", label_at=(HOST_X + HOST_W + 8, host_bottom - 26))
        for ep, ey, h in rows:
            c.box(CTR_X, ey, CTR_W, h, [
                (f"container {ep.container} ({ep.short_id})", True),
                (f"{ep.ifname} {ep.ip}/{ep.prefixlen}  {ep.mac}", False),
                (f"netns {ep.netns}", False)] + ([("DNS 127.0.0.11: its supervisor", False)] if ep.resolver else []),
                fill="#fffbe6", cls="container", title=ep.resolver or None)
            c.line([(BRIDGE_X + BRIDGE_W, by + 45), (CTR_X - 60, ey + 30), (CTR_X, ey + 30)],
                   color="#333333" if ep.veth_in_kernel else "#e74c3c",
                   label=ep.host_veth, label_at=(BRIDGE_X + BRIDGE_W + 6, ey + 22))
            for i, port in enumerate(ep.ports):
                py = ey + 4 + i * 50
                proxy = f"proxy pid {port.proxy_pid}" if port.proxy_pid else "no proxy"
                target = f"{port.container_ip}:{port.container_port}"
                how = "proxy only (no IPv6 DNAT)" if ":" in port.host_ip else "DNAT"
                c.box(HOST_X, py, HOST_W, 44, [(f"{port.label}  ({proxy})", False), (f"{how} → {target}", False)],
                      fill="#fdebd0", stroke=PORT_COLOR, cls="port")
                below = by + 90 + 10 + 6 * i
                c.line([(HOST_X + HOST_W, py + 22), (BRIDGE_X - 20 - 6 * i, py + 22), (BRIDGE_X - 20 - 6 * i, below),
                        (BRIDGE_X + BRIDGE_W + 20, below), (CTR_X - 20, ey + h - 12), (CTR_X + 4, ey + h - 12)],
                       color=PORT_COLOR, dashed=True, arrow=True)
        y = max(c.bottom, y + group_h) + 40
    for name, target in topo.joined:
        c.box(CTR_X, y, CTR_W, 48, [(f"container {name}", True), (f"--net container:{target}", False)], cls="container")
        y = c.bottom + 20
    for name in topo.isolated:
        c.box(CTR_X, y, CTR_W, 48, [(f"container {name}", True), ("--net none: only lo", False)], fill="#f4f4f4",
              cls="container")
        y = c.bottom + 20
    height = c.bottom + 20
    c.svg.set("width", str(CTR_X + CTR_W + 20))
    c.svg.set("height", str(height))
    c.svg.set("viewBox", f"0 0 {CTR_X + CTR_W + 20} {height}")
    return ET.tostring(c.svg, encoding="unicode", xml_declaration=True) + "\n"
