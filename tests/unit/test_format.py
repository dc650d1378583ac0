import json
from types import SimpleNamespace

import pytest

from minicontainer.cli.format import ellipsis, human_duration, human_size, images_table, ps_table, render_template, table
from minicontainer.store.containers import ContainerRecord

NOW = 1_800_000_000.0


@pytest.mark.parametrize("seconds,text", [
    (0.4, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"), (150, "2 minutes"),
    (3600, "About an hour"), (7200, "2 hours"), (3 * 86400, "3 days"), (20 * 86400, "2 weeks"),
    (90 * 86400, "3 months"), (800 * 86400, "2 years"),
])
def test_human_duration_matches_go_units(seconds, text):
    assert human_duration(seconds) == text


@pytest.mark.parametrize("size,text", [(512, "512B"), (12345, "12.3kB"), (1982256, "1.98MB"), (4261000000, "4.26GB")])
def test_human_size(size, text):
    assert human_size(size) == text


def test_ellipsis_and_table_padding():
    assert ellipsis("httpd -f -p 80 -h /www", 20) == "httpd -f -p 80 -h /…"
    assert table([["CONTAINER ID", "X", "LAST"], ["abc", "y", "z"]]) == \
        "CONTAINER ID   X         LAST\nabc            y         z\n"


def _rec(**kw):
    base = dict(id="92abdbf53f12469b9b29284cbee19d6b074fa3e40a24fc0861047819969b157d", name="beautiful_snyder",
                created="2027-01-15T08:00:00.000000000Z", image_id="sha256:x", image_ref="busybox:local",
                config={"Cmd": ["httpd", "-f", "-p", "80", "-h", "/www"]}, host_config={"NetworkMode": "none"},
                status="running", started_at="2027-01-15T08:00:00.000000000Z")
    base.update(kw)
    return ContainerRecord(**base)


def test_ps_table_matches_docker_layout():
    from minicontainer.cli.format import parse_time
    rec = _rec()
    now = parse_time(rec.created) + 1.2
    out = ps_table([rec], now=now)
    # Docker's own line (reference/docker-20.10), minus the PORTS the bridge issue adds.
    assert out.splitlines()[1] == ('92abdbf53f12   busybox:local   "httpd -f -p 80 -h /…"   1 second ago   '
                                   'Up 1 second             beautiful_snyder')
    exited = _rec(status="exited", exit_code=3, finished_at=rec.created)
    assert "Exited (3) 1 second ago" in ps_table([exited], now=now)
    assert "Created" in ps_table([_rec(status="created")], now=now)


def test_images_table():
    img = SimpleNamespace(repo_tags=["busybox:latest"], short_id="58e6e3974899", created="2027-01-15T08:00:00Z",
                          size=1982256, repo_digests=[])
    from minicontainer.cli.format import parse_time
    now = parse_time(img.created) + 7200
    out = images_table([img], now=now)
    assert out.splitlines()[1].split() == ["busybox", "latest", "58e6e3974899", "2", "hours", "ago", "1.98MB"]
    # --format: a template per image name, Docker's table headers, json; an untagged image as <none>
    bare = SimpleNamespace(repo_tags=[], short_id="0123456789ab", created=img.created, size=10,
                           repo_digests=["localhost:5000/x@sha256:" + "e" * 64])
    assert images_table([img, bare], now, "{{.Repository}}:{{.Tag}} {{.ID}}") == \
        "busybox:latest 58e6e3974899\n<none>:<none> 0123456789ab\n"
    assert images_table([bare], now, "table {{.ID}}\t{{.Digest}}").splitlines() == [
        "IMAGE ID       DIGEST", "0123456789ab   sha256:" + "e" * 64]
    row = json.loads(images_table([img], now, "json"))
    assert row["CreatedSince"] == "2 hours ago" and row["CreatedAt"] == "2027-01-15 08:00:00 +0000 UTC"


def test_templates():
    obj = {"State": {"Pid": 42, "Running": True}, "Config": {"Env": ["A=1"]}, "Name": "/web"}
    assert render_template("{{.State.Pid}} {{.State.Running}} {{.Name}}", obj) == "42 true /web"
    assert render_template("{{json .Config}}", obj) == '{"Env":["A=1"]}'  # Go's json.Marshal: compact
    assert render_template("{{index .State \"Pid\"}}", obj) == "42"
