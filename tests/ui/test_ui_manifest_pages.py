"""Manifest pages of what registry clients push: referrers (signatures, SBOMs) and an index's platforms."""

from __future__ import annotations

import hashlib
import json
import re
import uuid

import requests

AUTH = ("admin", "admin")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_image(url: str, name: str, arch: str = "amd64", **extra) -> tuple[bytes, str]:
    """Push a config and a layer and an OCI manifest naming them (by digest); returns its bytes and digest."""
    config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                         "config": {"Env": [f"ARCH={arch}"]}, "nonce": uuid.uuid4().hex}).encode()
    layer = f"layer {arch} {uuid.uuid4().hex}".encode()
    for blob in (config, layer):
        reply = requests.post(f"{url}/v2/{name}/blobs/uploads/", params={"digest": sha(blob)}, data=blob,
                              auth=AUTH, timeout=30)
        assert reply.status_code == 201, reply.text
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config),
                      "size": len(config)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer),
                       "size": len(layer)}], **extra}
    data = json.dumps(doc).encode()
    put(url, name, sha(data), data)
    return data, sha(data)


def put(url: str, name: str, reference: str, data: bytes, media_type: str = OCI_MANIFEST) -> None:
    reply = requests.put(f"{url}/v2/{name}/manifests/{reference}", data=data, auth=AUTH, timeout=60,
                         headers={"Content-Type": media_type})
    assert reply.status_code == 201, reply.text


def page(url: str, repo_id: str, digest: str) -> str:
    answer = requests.get(f"{url}/ui/repositories/{repo_id}/manifests/{digest}")
    assert answer.status_code == 200, answer.text[:300]
    return answer.text


def test_referrers_are_listed_and_link_back(pulp_server):
    name = f"uiref{uuid.uuid4().hex[:8]}"
    subject_data, subject = push_image(pulp_server.url, name)
    put(pulp_server.url, name, "app", subject_data)
    artifacts = {}
    for kind in ("application/vnd.example.signature", "application/vnd.example.sbom"):
        _, digest = push_image(pulp_server.url, name, artifactType=kind,
                               subject={"mediaType": OCI_MANIFEST, "digest": subject, "size": len(subject_data)})
        artifacts[digest] = kind
    html = page(pulp_server.url, name, subject)
    section = html.split('id="referrers"', 1)[1].split("</table>", 1)[0]
    for digest, kind in artifacts.items():
        assert f"/manifests/{digest}" in section and kind in section
    assert "ARCH=amd64" in html
    referrer = next(iter(artifacts))
    assert f'<a href="/ui/repositories/{name}/manifests/{subject}">' in page(pulp_server.url, name, referrer)


def test_an_index_shows_its_platforms(pulp_server):
    name = f"uiidx{uuid.uuid4().hex[:8]}"
    entries = []
    for arch in ("amd64", "arm64"):
        data, digest = push_image(pulp_server.url, name, arch)
        entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(data),
                        "platform": {"os": "linux", "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    put(pulp_server.url, name, "multi", index, OCI_INDEX)

    repository = requests.get(f"{pulp_server.url}/ui/repositories/{name}/")
    row = re.search(r'<tr data-tag="multi">(.*?)</tr>', repository.text, re.S).group(1)
    assert "linux/amd64, linux/arm64" in row and OCI_INDEX in row
    html = page(pulp_server.url, name, sha(index))
    assert "Manifest list" in html
    table = html.split('id="platforms"', 1)[1].split("</table>", 1)[0]
    for entry in entries:
        assert f'/manifests/{entry["digest"]}">linux/{entry["platform"]["architecture"]}</a>' in table
    instance = page(pulp_server.url, name, entries[1]["digest"])
    assert "linux/arm64" in instance and "ARCH=arm64" in instance
