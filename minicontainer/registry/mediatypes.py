"""The manifest, config and layer media types of Docker's schema 2 and of OCI image-spec v1."""

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"

INDEXES = (OCI_INDEX, DOCKER_LIST)
MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join(INDEXES + MANIFESTS)

# Layer media type -> how its bytes are compressed.
LAYER_COMPRESSION = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar": "none",
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
}


def kind_of(content_type: str, body: dict) -> str:
    """'index' or 'manifest': from the Content-Type, else the body's optional mediaType, else its shape."""
    for declared in (content_type.split(";")[0].strip(), body.get("mediaType", "")):
        if declared in INDEXES:
            return "index"
        if declared in MANIFESTS:
            return "manifest"
    if "manifests" in body:
        return "index"
    if "layers" in body and "config" in body:
        return "manifest"
    if body.get("schemaVersion") == 1:
        raise ValueError("schema 1 manifests are not supported (Docker dropped them too); push the image again")
    raise ValueError(f"unsupported manifest media type {content_type!r}")
