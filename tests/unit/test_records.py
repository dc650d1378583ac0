"""Container records: typed facts round-trip through JSON, and records written before them load."""

import json

from minicontainer.specs.ports import PortBinding
from minicontainer.store.containers import ContainerRecord
from minicontainer.store.records import Endpoint, MountRecord, PublishedPort
from minicontainer.view.inspect import container_json, port_bindings, ports_map

OLD = {  # a record as the version before the typed records wrote it
    "id": "a" * 64, "name": "web", "created": "2026-11-01T00:00:00.000000000Z", "image_id": "sha256:" + "b" * 64,
    "image_ref": "busybox", "config": {"Hostname": "aaaaaaaaaaaa", "Cmd": ["httpd"]},
    "host_config": {"NetworkMode": "bridge", "AutoRemove": False, "Binds": ["/srv:/data:ro"],
                    "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}},
    "status": "running", "pid": 42, "supervisor": {"pid": 41, "start": 7},
    "extra": {"endpoint": {"Network": "bridge", "NetworkID": "n" * 64, "IPAddress": "172.17.0.2", "IPPrefixLen": 16,
                           "Gateway": "172.17.0.1", "MacAddress": "02:42:ac:11:00:02", "Bridge": "mc0",
                           "SandboxKey": "/run/netns/aaaaaaaaaaaa", "EndpointID": "e" * 64, "Hairpin": False},
              "ports": [{"proto": "tcp", "container_port": 80, "host_ip": "0.0.0.0", "host_port": 8080}],
              "mounts": [{"type": "bind", "source": "/srv", "target": "/data", "readonly": True, "mode": "ro",
                          "copy_data": True, "create_source": True, "tmpfs_size": 0, "propagation": "rprivate"}]},
}


def test_a_record_from_before_the_typed_fields_loads():
    rec = ContainerRecord.from_json(json.loads(json.dumps(OLD)))
    assert rec.port_bindings == [PortBinding("tcp", 80, "", 8080)]
    assert rec.endpoints[0].ip == "172.17.0.2" and rec.endpoints[0].sandbox_key == "/run/netns/aaaaaaaaaaaa"
    assert rec.ports == [PublishedPort("tcp", "0.0.0.0", 8080, 80, "172.17.0.2")]  # its address from the endpoint
    assert rec.mounts[0] == MountRecord("bind", "/srv", "/data", True, "ro", True, True, 0, "rprivate")
    assert "PortBindings" not in rec.host_config
    assert port_bindings(rec) == OLD["host_config"]["PortBindings"]
    assert ports_map(rec) == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}


def test_typed_records_round_trip():
    rec = ContainerRecord.from_json(json.loads(json.dumps(OLD)))
    again = ContainerRecord.from_json(json.loads(rec.to_json()))
    assert again == rec
    assert isinstance(again.endpoints[0], Endpoint) and again.endpoints[0].aliases == ()


class _Images:
    def find(self, ref):
        return None


class _Store:
    def path(self, cid, name):
        return f"/state/{cid[:4]}/{name}"

    def log_path(self, cid):
        return self.path(cid, "log")


class _Runtime:
    containers, images = _Store(), _Images()

    @staticmethod
    def network_mode(value):
        from minicontainer.network.modes import mode_for
        return mode_for(value, None, None)


def test_inspect_json_is_dockers_shape_made_from_the_typed_records():
    data = container_json(_Runtime(), ContainerRecord.from_json(json.loads(json.dumps(OLD))))
    settings = data["NetworkSettings"]
    assert settings["IPAddress"] == "172.17.0.2" and settings["SandboxKey"] == "/run/netns/aaaaaaaaaaaa"
    assert settings["Networks"]["bridge"]["MacAddress"] == "02:42:ac:11:00:02"
    assert data["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert data["Mounts"] == [{"Type": "bind", "Source": "/srv", "Destination": "/data", "Mode": "ro", "RW": False,
                               "Propagation": "rprivate"}]
