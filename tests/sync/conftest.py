"""Upstreams for the sync tests, on loopback only.

``distribution`` (session): Debian's docker-registry over TLS (self-signed, trusted by skopeo through a
cert dir and by our server through ``ssl_ca_cert``) with htpasswd auth, filled by skopeo:

- ``lib/app``: ``v2s2`` and ``latest`` (one schema 2 manifest, from skopeo-v2s2.tar as a dir),
  ``oci`` (oci-archive.tar), ``docker`` (docker-archive.tar);
- ``lib/multi:latest``: a manifest list of linux/amd64 and linux/arm64 (devel/imagegen.py, ``--all``).

``protected_upstream`` (session): a second server of ours with ``secret/app`` protected (tags ``1.0``
(schema 2) and ``2.0`` (OCI), generated), so a sync must follow 401 -> Bearer token.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from imagegen import tar_dir

from .helpers import APP_TAGS, DATA, Distribution, generated_image, need, upload_image


@pytest.fixture(scope="session")
def distribution(tmp_path_factory) -> Iterator[Distribution]:
    need("docker-registry", "openssl", "htpasswd", "skopeo")
    registry = Distribution(tmp_path_factory.mktemp("distribution"))
    try:
        seed = tmp_path_factory.mktemp("seed")
        with tarfile.open(DATA / "skopeo-v2s2.tar") as tar:
            tar.extractall(seed / "v2s2", filter="data")
        registry.push(f"dir:{seed / 'v2s2'}", "lib/app", "v2s2")
        registry.push(f"dir:{seed / 'v2s2'}", "lib/app", "latest")
        registry.push(f"oci-archive:{DATA / 'oci-archive.tar'}", "lib/app", "oci")
        registry.push(f"docker-archive:{DATA / 'docker-archive.tar'}", "lib/app", "docker")
        multi, _ = generated_image(seed / "multi", 64 * 1024, platforms=["linux/amd64", "linux/arm64"])
        registry.push(f"dir:{multi}", "lib/multi", "latest", all_images=True)
        # The rig itself: TLS verified, auth enforced, the content there.
        anonymous = requests.get(f"{registry.url}/v2/lib/app/tags/list", verify=str(registry.cert), timeout=30)
        assert anonymous.status_code == 401, anonymous.text
        assert registry.tags("lib/app") == APP_TAGS
        assert registry.tags("lib/multi") == ["latest"]
        yield registry
    finally:
        registry.stop()


@dataclass
class ProtectedUpstream:
    server: object
    name: str
    digests: dict[str, str]


@pytest.fixture(scope="session")
def protected_upstream(start_pulp_server, tmp_path_factory) -> ProtectedUpstream:
    server = start_pulp_server()
    name = "secret/app"
    work = tmp_path_factory.mktemp("protected")
    tarballs = {}
    for tag, fmt in (("1.0", "v2s2"), ("2.0", "oci")):  # blobs of their own: a sync must download them
        image, _ = generated_image(work / tag, 48 * 1024, fmt=fmt)
        tarballs[tag] = tar_dir(image, work / f"{tag}.tar")
    digests = {
        "1.0": upload_image(server, "secret-app", tarballs["1.0"], "1.0", registry_id=name, protected=True),
        "2.0": upload_image(server, "secret-app", tarballs["2.0"], "2.0", registry_id=name, protected=True,
                            create=False),
    }
    anonymous = requests.get(f"{server.url}/v2/{name}/tags/list", timeout=30)
    assert anonymous.status_code == 401, anonymous.text
    challenge = requests.get(f"{server.url}/v2/", timeout=30).headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer "), challenge
    return ProtectedUpstream(server, name, digests)
