"""Docker's output formats: durations, sizes, the ps/images tables, inspect JSON, -f templates."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from minicontainer.clock import parse_time


def human_duration(seconds: float) -> str:
    """go-units HumanDuration, which Docker uses for 'Up 3 seconds' and '2 minutes ago'."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _custom_size(size: float, base: float, units: list[str], digits: int) -> str:
    """go-units CustomSize: size in the largest unit below it, to `digits` significant digits."""
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return f"{size:.{digits}g}{units[i]}"


def human_size(size: float) -> str:
    """go-units HumanSizeWithPrecision(size, 3): decimal units, as `docker images` prints them."""
    return _custom_size(size, 1000.0, ["B", "kB", "MB", "GB", "TB", "PB"], 3)


def bytes_size(size: float) -> str:
    """go-units BytesSize: binary units, four significant digits, as `stats` prints memory."""
    return _custom_size(size, 1024.0, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 4)


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[list[str]], minwidth: int = 10) -> str:
    """text/tabwriter with Docker's settings: minwidth 10 (`top`: 20), padding 3; the last column unpadded."""
    if not rows:
        return ""
    ncols = len(rows[0])
    widths = [max(max(len(r[c]) for r in rows) + 3, minwidth) for c in range(ncols - 1)]
    out = []
    for r in rows:
        out.append("".join(cell.ljust(widths[c]) for c, cell in enumerate(r[:-1])) + r[-1])
    return "\n".join(out) + "\n"


def container_status(rec, now: float | None = None) -> str:
    now = time.time() if now is None else now
    if rec.status == "running":
        return "Up " + human_duration(now - parse_time(rec.started_at)) + (" (Paused)" if rec.paused else "")
    if rec.status == "exited":
        return f"Exited ({rec.exit_code}) {human_duration(now - parse_time(rec.finished_at))} ago"
    if rec.status == "restarting":
        return f"Restarting ({rec.exit_code}) {human_duration(now - parse_time(rec.finished_at))} ago"
    return "Created"


def _port_sort_key(p):
    return (p.container_port, p.host_ip, p.host_port, p.proto)


def ports_column(rec) -> str:
    """The PORTS column: 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp (sorted like Docker's DisplayablePorts)."""
    return ", ".join(f"{p.host_address}->{p.key}" for p in sorted(rec.ports, key=_port_sort_key))


def port_lines(rec, private: str | None = None) -> list[str]:
    """`port CONTAINER [PRIVATE[/PROTO]]` output."""
    ports = sorted(rec.ports, key=_port_sort_key)
    if private is None:
        return [f"{p.key} -> {p.host_address}" for p in ports]
    port, _, proto = private.partition("/")
    proto = proto or "tcp"
    return [p.host_address for p in ports if str(p.container_port) == port and p.proto == proto]


PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
              "RunningFor": "CREATED", "Ports": "PORTS", "Status": "STATUS", "Size": "SIZE", "Names": "NAMES",
              "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "State": "STATE",
              "LocalVolumes": "LOCAL VOLUMES"}
PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"


def ps_row(r, now: float, truncate: bool = True) -> dict:
    """One container as `ps --format` sees it (the docker CLI's ContainerContext fields)."""
    command = " ".join(r.command)
    created_at = parse_time(r.created)
    created = datetime.fromtimestamp(created_at, timezone.utc)
    return {"ID": r.short_id if truncate else r.id, "Image": r.image_ref,
            "Command": json.dumps(ellipsis(command, 20) if truncate else command, ensure_ascii=False),
            "CreatedAt": created.strftime("%Y-%m-%d %H:%M:%S +0000 UTC"),
            "RunningFor": human_duration(now - created_at) + " ago", "Ports": ports_column(r),
            "Status": container_status(r, now), "Size": "0B", "Names": r.name, "Labels": "",
            "Mounts": ",".join(m.name or m.source for m in r.mounts if not m.tmpfs_flag),
            "Networks": ",".join(a.network for a in r.networks) or r.network_mode, "State": r.state,
            "LocalVolumes": str(sum(1 for m in r.mounts if m.type == "volume"))}


def ps_table(recs, now: float | None = None, truncate: bool = True, template: str = "") -> str:
    now = time.time() if now is None else now
    return formatted(template or PS_TABLE, [ps_row(r, now, truncate) for r in recs], PS_HEADERS)


def formatted(template: str, items: list[dict], headers: dict[str, str]) -> str:
    """Docker's --format: `table TEMPLATE` (a header row, cells at tabs aligned as tabwriter does),
    `json` (an object a line), or TEMPLATE for each item. `\\t` and `\\n` as typed mean tab and newline."""
    if template == "json":
        return "".join(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n" for item in items)
    template = template.replace("\\t", "\t").replace("\\n", "\n")
    if template.startswith("table"):
        body = template[5:].strip()
        lines = [render_template(body, headers)] + [render_template(body, item) for item in items]
        return table([line.split("\t") for line in lines])
    return "".join(render_template(template, item) + "\n" for item in items)


IMAGES_HEADERS = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
                  "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
                  "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE"}
IMAGES_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


def image_rows(images, now: float) -> list[dict]:
    """One row per image name (an untagged image once, as <none>), the docker CLI's ImageContext fields."""
    rows = []
    for img in images:
        created = datetime.fromtimestamp(parse_time(img.created), timezone.utc)
        digest = img.repo_digests[0].rpartition("@")[2] if img.repo_digests else "<none>"
        for name in img.repo_tags or ["<none>:<none>"]:
            repo, _, tag = name.rpartition(":")
            rows.append({"ID": img.short_id, "Repository": repo, "Tag": tag, "Digest": digest,
                         "CreatedSince": human_duration(now - parse_time(img.created)) + " ago",
                         "CreatedAt": created.strftime("%Y-%m-%d %H:%M:%S +0000 UTC"), "Size": human_size(img.size),
                         "Containers": "N/A", "SharedSize": "N/A", "UniqueSize": "N/A",
                         "VirtualSize": human_size(img.size)})
    return rows


def images_table(images, now: float | None = None, template: str = "") -> str:
    """`images` and `images --format` (the default is the table Docker prints)."""
    now = time.time() if now is None else now
    return formatted(template or IMAGES_TABLE, image_rows(images, now), IMAGES_HEADERS)


# ---------------------------------------------------------------- -f / --format templates

def render_template(template: str, obj: dict) -> str:
    """-f / --format: Go's text/template as Docker evaluates it (cli/gotemplate.py)."""
    from minicontainer.cli.gotemplate import render
    return render(template, obj)


STATS_HEADERS = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
                 "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
                 "PIDs": "PIDS"}
STATS_TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"


def stats_row(rec, sample, cpu: float, truncate: bool = True) -> dict:
    """One container as `stats --format` sees it (the docker CLI's StatsEntry fields)."""
    mem_perc = sample.mem_usage / sample.mem_limit * 100 if sample.mem_limit else 0.0
    return {"Container": rec.short_id if truncate else rec.id, "ID": rec.short_id if truncate else rec.id,
            "Name": rec.name, "CPUPerc": f"{cpu:.2f}%",
            "MemUsage": f"{bytes_size(sample.mem_usage)} / {bytes_size(sample.mem_limit)}", "MemPerc": f"{mem_perc:.2f}%",
            "NetIO": f"{human_size(sample.net_rx)} / {human_size(sample.net_tx)}",
            "BlockIO": f"{human_size(sample.blk_read)} / {human_size(sample.blk_write)}", "PIDs": str(sample.pids)}
