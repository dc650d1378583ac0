import pytest

from minicontainer.errors import MCError
from minicontainer.specs.ports import PortBinding, parse_publish


@pytest.mark.parametrize("spec,expected", [
    ("80", [PortBinding("tcp", 80, "", 0)]),
    ("8080:80", [PortBinding("tcp", 80, "", 8080)]),
    ("127.0.0.1:8080:80/udp", [PortBinding("udp", 80, "127.0.0.1", 8080)]),
    ("127.0.0.1::80", [PortBinding("tcp", 80, "127.0.0.1", 0)]),
    ("[::1]:8080:80", [PortBinding("tcp", 80, "::1", 8080)]),
    ("8080-8081:80-81", [PortBinding("tcp", 80, "", 8080), PortBinding("tcp", 81, "", 8081)]),
])
def test_publish_syntax(spec, expected):
    assert parse_publish(spec) == expected


@pytest.mark.parametrize("spec,message", [
    ("8080:abc", "invalid containerPort: abc"),
    ("70000:80", "invalid hostPort: 70000"),
    ("80/xyz", "invalid proto: xyz"),
    ("8080:", "no port specified: 8080:<empty>"),
    ("8080:80:90", "invalid IP address: 8080"),
    ("8080-8082:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8080-8082"),
])
def test_publish_errors_like_docker(spec, message):
    with pytest.raises(MCError) as exc:
        parse_publish(spec)
    assert str(exc.value) == message and exc.value.exit_code == 125
