"""Image references as Docker reads them, the platform pick from an index, and -u resolution."""

import pytest

from minicontainer.errors import MCError
from minicontainer.registry import mediatypes
from minicontainer.registry.platform import Platform, choose
from minicontainer.runtime.users import UnknownUser, resolve
from minicontainer.specs.refs import parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("ref,domain,path,tag,digest,key", [
    ("nginx", "docker.io", "library/nginx", "latest", "", "nginx:latest"),
    ("nginx:alpine", "docker.io", "library/nginx", "alpine", "", "nginx:alpine"),
    ("docker.io/library/redis:7", "docker.io", "library/redis", "7", "", "redis:7"),
    ("index.docker.io/team/app", "docker.io", "team/app", "latest", "", "team/app:latest"),
    ("localhost/app", "localhost", "app", "latest", "", "localhost/app:latest"),
    ("localhost:5000/a/b:1", "localhost:5000", "a/b", "1", "", "localhost:5000/a/b:1"),
    ("quay.io/org/img", "quay.io", "org/img", "latest", "", "quay.io/org/img:latest"),
    ("team/app", "docker.io", "team/app", "latest", "", "team/app:latest"),
    (f"nginx@{DIGEST}", "docker.io", "library/nginx", "latest", DIGEST, f"nginx@{DIGEST}"),
    (f"127.0.0.1:5000/x:1@{DIGEST}", "127.0.0.1:5000", "x", "1", DIGEST, f"127.0.0.1:5000/x@{DIGEST}"),
])
def test_references(ref, domain, path, tag, digest, key):
    r = parse_reference(ref)
    assert (r.domain, r.path, r.tag, r.digest, r.key) == (domain, path, tag, digest, key)
    assert r.reference == (digest or tag)


@pytest.mark.parametrize("ref", ["nginx@sha256:short", "nginx@md5:" + "a" * 32, "UPPER", "a b", ":tag", "nginx:"])
def test_bad_references(ref):
    with pytest.raises(MCError) as exc:
        parse_reference(ref)
    assert "invalid reference format" in str(exc.value)


def _entry(os_, arch, variant="", digest="d"):
    p = {"os": os_, "architecture": arch, **({"variant": variant} if variant else {})}
    return {"digest": digest, "platform": p}


def test_platform_choice():
    index = [_entry("unknown", "unknown", digest="att"), _entry("linux", "arm", "v7", "armv7"),
             _entry("linux", "arm64", "v8", "arm64"), _entry("linux", "amd64", digest="amd64"),
             _entry("windows", "amd64", digest="win")]
    assert choose(index, Platform("linux", "amd64"))["digest"] == "amd64"
    assert choose(index, Platform("linux", "arm64", "v8"))["digest"] == "arm64"
    assert choose(index, Platform("linux", "arm", "v7"))["digest"] == "armv7"
    assert choose(index, Platform("linux", "arm", "v6")) is None
    assert choose(index, Platform("linux", "s390x")) is None
    # arm64 without a variant counts as v8; an exact variant beats a missing one.
    assert choose([_entry("linux", "arm64", digest="plain")], Platform("linux", "arm64", "v8"))["digest"] == "plain"
    both = [_entry("linux", "arm", digest="any"), _entry("linux", "arm", "v7", "v7")]
    assert choose(both, Platform("linux", "arm", "v7"))["digest"] == "v7"


def test_manifest_kind_from_content_type_or_body():
    assert mediatypes.kind_of(mediatypes.OCI_INDEX, {}) == "index"
    assert mediatypes.kind_of("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8", {}) == "manifest"
    assert mediatypes.kind_of("application/json", {"manifests": []}) == "index"
    assert mediatypes.kind_of("", {"config": {}, "layers": []}) == "manifest"
    with pytest.raises(ValueError, match="schema 1"):
        mediatypes.kind_of("application/vnd.docker.distribution.manifest.v1+prettyjws", {"schemaVersion": 1})


PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n# comment\nshort:x\n"
GROUP = "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\nwheel:x:10:app\n"


@pytest.mark.parametrize("spec,uid,gid,groups,home", [
    ("", 0, 0, [], "/root"), ("root", 0, 0, [], "/root"), ("app", 1000, 1000, [10, 50], "/home/app"),
    ("1000", 1000, 1000, [10, 50], "/home/app"), ("4321", 4321, 0, [], "/"), ("app:staff", 1000, 50, [10], "/home/app"),
    ("app:77", 1000, 77, [10, 50], "/home/app"), ("0:0", 0, 0, [], "/root"),
])
def test_user_resolution(spec, uid, gid, groups, home):
    u = resolve(spec, PASSWD, GROUP)
    assert (u.uid, u.gid, u.groups, u.home) == (uid, gid, groups, home)


def test_unknown_user_and_group():
    with pytest.raises(UnknownUser, match="unable to find user nobody: no matching entries in passwd file"):
        resolve("nobody", PASSWD, GROUP)
    with pytest.raises(UnknownUser, match="unable to find group nogroup: no matching entries in group file"):
        resolve("app:nogroup", PASSWD, GROUP)
