"""Media types of manifests and blobs, and which are which."""

DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_UNCOMPRESSED = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_PREFIX = "application/vnd.oci.image.layer."
OCI_NONDISTRIBUTABLE_PREFIX = "application/vnd.oci.image.layer.nondistributable."

IMAGE_MANIFESTS = frozenset({DOCKER_MANIFEST_V1, DOCKER_MANIFEST_V1_SIGNED, DOCKER_MANIFEST_V2, OCI_MANIFEST})
MANIFEST_LISTS = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
ALL_MANIFESTS = IMAGE_MANIFESTS | MANIFEST_LISTS

DOCKER_LAYERS = frozenset({DOCKER_LAYER, DOCKER_FOREIGN_LAYER, DOCKER_LAYER_UNCOMPRESSED})
OCI_LAYERS = frozenset({
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
})


def is_foreign(media_type: str | None) -> bool:
    """Layers a registry does not hold (Windows base layers): skopeo leaves them out of a dir."""
    if not media_type:
        return False
    return media_type == DOCKER_FOREIGN_LAYER or media_type.startswith(OCI_NONDISTRIBUTABLE_PREFIX)
