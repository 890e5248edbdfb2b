"""Pulls with the real clients: what skopeo and podman get is byte for byte what was uploaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_helpers import Image, file_sha256

KEYS = ["v2s2", "oci", "v2s1"]


def assert_same_image(out: Path, image: Image) -> None:
    """``out`` (a skopeo dir) holds the uploaded manifest bytes and every uploaded blob, identical."""
    assert (out / "manifest.json").read_bytes() == image.manifest_bytes
    pulled = {p.name: file_sha256(p) for p in out.iterdir() if len(p.name) == 64}
    assert set(pulled) == image.blob_hexes
    for name, sha in pulled.items():
        assert sha == name == image.members[name]


@pytest.mark.parametrize("key", KEYS)
def test_skopeo_copy_is_byte_identical(images, skopeo, tmp_path, key):
    image = images[key]
    skopeo.copy(image.name, image.tag, tmp_path / "out")
    assert_same_image(tmp_path / "out", image)


@pytest.mark.parametrize("key", KEYS)
def test_skopeo_inspect_gives_the_uploaded_digest(images, skopeo, key):
    image = images[key]
    info = skopeo.inspect_json(image.name, image.tag)
    assert info["Digest"] == image.digest
    assert image.tag in info["RepoTags"]
    raw = skopeo.inspect(image.name, image.tag, "--raw").stdout.encode()
    assert raw == image.manifest_bytes


def test_skopeo_copy_by_digest(images, skopeo, tmp_path):
    image = images["oci"]
    skopeo.copy(image.name, image.digest, tmp_path / "out")
    assert_same_image(tmp_path / "out", image)


@pytest.mark.parametrize("key", ["v2s2", "oci"])
def test_podman_pull(images, podman, key):
    image = images[key]
    podman.pull(image.name, image.tag)
    info = podman.inspect(f"{podman.host}/{image.name}:{image.tag}")
    assert f"{podman.host}/{image.name}@{image.digest}" in info["RepoDigests"]
    # podman's image id is the config digest: the config blob arrived intact.
    assert info["Id"] == json.loads(image.manifest_bytes)["config"]["digest"].split(":", 1)[1]


def test_protected_refuses_anonymous_skopeo(images, skopeo, tmp_path):
    image = images["protected"]
    result = skopeo.copy(image.name, image.tag, tmp_path / "out", check=False)
    assert result.returncode != 0
    assert "unauthorized" in result.stderr.lower()
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_protected_refuses_wrong_password(images, skopeo, tmp_path):
    image = images["protected"]
    result = skopeo.copy(image.name, image.tag, tmp_path / "out", creds="admin:wrong", check=False)
    assert result.returncode != 0
    assert "unauthorized" in result.stderr.lower() or "invalid username or password" in result.stderr.lower()


def test_protected_pulls_with_credentials(images, skopeo, pulp_server, tmp_path):
    image = images["protected"]
    skopeo.copy(image.name, image.tag, tmp_path / "out", creds=":".join(pulp_server.auth))
    assert_same_image(tmp_path / "out", image)


def test_protected_podman(images, podman, pulp_server):
    image = images["protected"]
    refused = podman.pull(image.name, image.tag, check=False)
    assert refused.returncode != 0 and "unauthorized" in refused.stderr.lower()
    podman.pull(image.name, image.tag, creds=":".join(pulp_server.auth))
    info = podman.inspect(f"{podman.host}/{image.name}:{image.tag}")
    assert f"{podman.host}/{image.name}@{image.digest}" in info["RepoDigests"]
