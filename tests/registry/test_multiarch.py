"""Multi-arch images: a list built with umoci and ``skopeo copy --all``, pulled per platform."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import imagegen
import pytest
import requests
from registry_helpers import Image, member_hashes, run

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
ARCHES = ("amd64", "arm64")


@dataclass
class MultiArch:
    image: Image
    source: Path  # the skopeo dir that was tarred and uploaded
    instances: dict[str, str]  # arch -> instance manifest digest

    def instance_bytes(self, arch: str) -> bytes:
        return (self.source / f"{self.instances[arch].split(':', 1)[1]}.manifest.json").read_bytes()


def _instances(source: Path) -> dict[str, str]:
    doc = json.loads((source / "manifest.json").read_bytes())
    return {m["platform"]["architecture"]: m["digest"] for m in doc["manifests"]}


def build_umoci_list(work: Path) -> Path:
    """An OCI layout with one image per arch (umoci), an index over them, copied with ``skopeo copy --all``."""
    for tool in ("umoci", "skopeo"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    layout = work / "layout"
    run("umoci", "init", "--layout", str(layout))
    entries = []
    for arch in ARCHES:
        ref = f"{layout}:{arch}"
        run("umoci", "new", "--image", ref)
        run("umoci", "config", "--image", ref, "--os", "linux", "--architecture", arch)
        payload = work / f"hello-{arch}"
        payload.write_text(f"hello from {arch}\n")
        run("umoci", "insert", "--image", ref, str(payload), "/hello")
    index_path = layout / "index.json"
    index = json.loads(index_path.read_text())
    for entry in index["manifests"]:
        arch = entry["annotations"]["org.opencontainers.image.ref.name"]
        entries.append({"mediaType": entry["mediaType"], "digest": entry["digest"], "size": entry["size"],
                        "platform": {"architecture": arch, "os": "linux"}})
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    index["manifests"].append({"mediaType": OCI_INDEX, "digest": f"sha256:{digest}", "size": len(data),
                               "annotations": {"org.opencontainers.image.ref.name": "multi"}})
    index_path.write_text(json.dumps(index))
    out = work / "dir"
    run("skopeo", "copy", "--all", f"oci:{layout}:multi", f"dir:{out}")
    return out


def _upload_list(server, repo_id: str, source: Path, tag: str) -> MultiArch:
    tarball = imagegen.tar_dir(source, source.parent / f"{repo_id}.tar")
    upload_id = server.upload_file(tarball)
    server.create_repo(repo_id)
    task = server.import_upload(repo_id, upload_id, "docker_manifest_list", unit_metadata={"tag": tag})
    assert task["state"] == "finished", task
    digest = task["result"]["details"]["unit"]["unit_key"]["digest"]
    image = Image(repo_id, repo_id, tag, digest, tarball, members=member_hashes(tarball))
    return MultiArch(image, source, _instances(source))


@pytest.fixture(scope="module")
def oci_list(pulp_server, tmp_path_factory) -> MultiArch:
    return _upload_list(pulp_server, "reg-multi-oci", build_umoci_list(tmp_path_factory.mktemp("umoci")), "multi")


@pytest.fixture(scope="module")
def docker_list(pulp_server, tmp_path_factory) -> MultiArch:
    source = tmp_path_factory.mktemp("imagegen") / "dir"
    imagegen.make_image(source, 64 * 1024, small_layers=1, fmt="v2s2", platforms=["linux/amd64", "linux/arm64"])
    return _upload_list(pulp_server, "reg-multi-docker", source, "latest")


def blob_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if len(p.name) == 64}


@pytest.mark.parametrize("arch", ARCHES)
def test_skopeo_override_arch_gets_that_instance(oci_list, skopeo, tmp_path, arch):
    out = tmp_path / arch
    skopeo.copy(oci_list.image.name, oci_list.image.tag, out, global_options=("--override-arch", arch))
    assert (out / "manifest.json").read_bytes() == oci_list.instance_bytes(arch)
    instance = json.loads(oci_list.instance_bytes(arch))
    wanted = {d["digest"].split(":", 1)[1] for d in [instance["config"], *instance["layers"]]}
    files = blob_files(out)
    assert set(files) == wanted
    for name, data in files.items():
        assert hashlib.sha256(data).hexdigest() == name == oci_list.image.members[name]
    config = json.loads(files[instance["config"]["digest"].split(":", 1)[1]])
    assert config["architecture"] == arch


def test_skopeo_copy_all_gets_the_list_and_every_instance(oci_list, skopeo, tmp_path):
    out = tmp_path / "all"
    skopeo.copy(oci_list.image.name, oci_list.image.tag, out, "--all")
    assert (out / "manifest.json").read_bytes() == oci_list.image.manifest_bytes
    for arch in ARCHES:
        hexdigest = oci_list.instances[arch].split(":", 1)[1]
        assert (out / f"{hexdigest}.manifest.json").read_bytes() == oci_list.instance_bytes(arch)
    raw = skopeo.inspect(oci_list.image.name, oci_list.image.tag, "--raw").stdout.encode()
    assert raw == oci_list.image.manifest_bytes


@pytest.mark.parametrize("arch", ARCHES)
def test_podman_pull_by_arch(oci_list, podman, arch):
    podman.pull(oci_list.image.name, oci_list.image.tag, "--arch", arch)
    info = podman.inspect(f"{podman.host}/{oci_list.image.name}:{oci_list.image.tag}")
    assert info["Architecture"] == arch
    assert info["Digest"] == oci_list.image.digest  # pulled by tag: the list digest


def test_a_client_without_list_support_gets_the_amd64_instance(oci_list, docker_list, pulp_server):
    def fetch(multi: MultiArch, accept: str) -> requests.Response:
        return requests.get(f"{pulp_server.url}/v2/{multi.image.name}/manifests/{multi.image.tag}",
                            headers={"Accept": accept}, timeout=60)

    for multi, list_type, instance_type in [(oci_list, OCI_INDEX, OCI_MANIFEST),
                                            (docker_list, DOCKER_LIST, DOCKER_V2)]:
        as_list = fetch(multi, f"{list_type}, {instance_type}")
        assert as_list.headers["Content-Type"] == list_type
        assert as_list.content == multi.image.manifest_bytes
        assert as_list.headers["Docker-Content-Digest"] == multi.image.digest
        single = fetch(multi, instance_type)
        assert single.status_code == 200
        assert single.headers["Content-Type"] == instance_type
        assert single.headers["Docker-Content-Digest"] == multi.instances["amd64"]
        assert single.content == multi.instance_bytes("amd64")
    # The OCI list's amd64 instance is OCI: a Docker-schema-2-only client gets nothing it can take.
    refused = fetch(oci_list, DOCKER_V2)
    assert refused.status_code == 404 and refused.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    # Instances are served by digest, like any manifest the repository holds.
    arm = requests.get(f"{pulp_server.url}/v2/{oci_list.image.name}/manifests/{oci_list.instances['arm64']}",
                       timeout=60)
    assert arm.status_code == 200 and arm.content == oci_list.instance_bytes("arm64")
