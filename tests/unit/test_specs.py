import pytest

from minicontainer.errors import MCError
from minicontainer.specs.names import random_name, validate_name
from minicontainer.specs.process import merge_env, parse_env
from minicontainer.specs.refs import normalize, parse_image_ref
from minicontainer.specs.run import RunSpec, validate


@pytest.mark.parametrize("name", ["web", "a1", "my_app.v2-x", "/web"])
def test_valid_names(name):
    assert validate_name(name) == name.lstrip("/")


@pytest.mark.parametrize("name", ["a", "-web", "bad name", "x/y", "über"])
def test_invalid_names(name):
    with pytest.raises(MCError) as exc:
        validate_name(name)
    assert "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed" in str(exc.value) and exc.value.exit_code == 125


def test_random_names_are_valid():
    for _ in range(50):
        validate_name(random_name())


def test_env_parsing_like_docker():
    assert parse_env(["A=1", "B", "C", "D="], {"B": "from-host"}) == ["A=1", "B=from-host", "D="]
    with pytest.raises(MCError):
        parse_env(["=x"], {})
    assert merge_env(["PATH=/bin", "A=1"], ["A=2", "Z=3"]) == ["PATH=/bin", "A=2", "Z=3"]


@pytest.mark.parametrize("ref,expected", [
    ("busybox", ("busybox", "latest")), ("busybox:1.36", ("busybox", "1.36")),
    ("localhost:5000/team/app:v1", ("localhost:5000/team/app", "v1")), ("localhost:5000/app", ("localhost:5000/app", "latest")),
])
def test_image_refs(ref, expected):
    assert parse_image_ref(ref) == expected
    assert normalize(ref) == f"{expected[0]}:{expected[1]}"


@pytest.mark.parametrize("ref", ["Busybox", "bad ref", "a::b", ""])
def test_bad_image_refs(ref):
    with pytest.raises(MCError) as exc:
        parse_image_ref(ref)
    assert "invalid reference format" in str(exc.value)


@pytest.mark.parametrize("spec,message", [
    (RunSpec("busybox", workdir="tmp"), "the working directory 'tmp' is invalid, it needs to be an absolute path"),
    (RunSpec("busybox", hostname="bad_host!"), "invalid hostname format: bad_host!"),
    (RunSpec("busybox", network="a/b"), "network a/b not found"),
    (RunSpec("busybox", network="container:"), "invalid container format container:<name|id>"),
])
def test_run_validation(spec, message):
    with pytest.raises(MCError) as exc:
        validate(spec)
    assert message in str(exc.value) and exc.value.exit_code == 125
