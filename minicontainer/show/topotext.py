"""The topology as text for the terminal: a tree from the host's stack down to each container."""

from __future__ import annotations

from minicontainer.show.topology import Topology


def render(topo: Topology) -> str:
    out = ["host: the root network namespace"]
    width = max([len(i.name) for i in topo.host] + [4])
    for iface in topo.host:
        state = "" if iface.up else "  (down)"
        out.append(f"│  {iface.name:<{width}}  {' '.join(iface.addresses) or '-'}{state}")
    for name in topo.host_mode:
        out.append(f"│  container {name}: --net host, shares this stack (the interfaces above are its own)")
    for net in topo.networks:
        missing = "" if net.in_kernel else "  [not in the kernel: created on the next run]"
        out += ["│", f"├─ bridge {net.bridge}  {net.gateway}/{net.subnet.split('/')[1]}  network \"{net.name}\" "
                f"{net.subnet}, MASQUERADE to the outside{missing}"]
        if not net.endpoints:
            out.append("│    (no container attached)")
        for i, ep in enumerate(net.endpoints):
            last = i == len(net.endpoints) - 1
            branch, cont = ("└─", "   ") if last else ("├─", "│  ")
            gone = "" if ep.veth_in_kernel else "  [veth missing from the kernel!]"
            out.append(f"│    {branch} {ep.host_veth or '?'} ══ {ep.ifname} {ep.ip}/{ep.prefixlen} {ep.mac}  "
                       f"container {ep.container} ({ep.short_id}), netns {ep.netns}{gone}")
            if ep.resolver:
                out.append(f"│    {cont}    {ep.resolver}")
            for port in ep.ports:
                how = (f"proxy pid {port.proxy_pid} answers on the host" if port.proxy_pid
                       else "no proxy: the kernel DNATs it")
                dnat = "DNAT" if ":" not in port.host_ip else "proxy only"
                out.append(f"│    {cont}    {port.label} ──{dnat}──▶ {port.container_ip}:{port.container_port}  ({how})")
    for name, target in topo.joined:
        out += ["│", f"├─ container {name}: --net container:{target}, shares {target}'s namespace and eth0"]
    for name in topo.isolated:
        out += ["│", f"├─ container {name}: --net none, its own namespace with only lo"]
    return "\n".join(out) + "\n"
