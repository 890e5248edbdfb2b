"""Every kind of tarball the import takes, made at test time by the real tools, pulled back by docker.

Two tiny images are built on the private engine; ``docker save``, ``podman save``, ``skopeo copy``
(``docker-archive:``, ``oci-archive:``, ``oci:``, ``dir:``), the compressors and umoci make the
tarballs from them. Each is imported into a fresh repository, then the source image is removed from
the engine and every tag is pulled back with ``docker pull``: same image id, and ``docker run``
prints what the build wrote. Where the tarball held a registry manifest, skopeo gets those bytes back
exactly and podman pulls the same digest. Expected ids and tags come from the tarballs themselves.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engines import (
    OCI_INDEX,
    Built,
    compress,
    docker_archive_images,
    import_tarball,
    members,
    multi_platform_layout,
    new_repo_id,
    oci_layout_refs,
    repo_units,
    served_digest,
    sha256_bytes,
    tar_dir,
)

pytestmark = pytest.mark.slow

COMPRESSORS = ("gzip", "bzip2", "xz", "zstd")


@dataclass
class Expect:
    """What one tag must pull back as."""

    image_id: str
    message: str
    manifest: bytes | None = None  # the registry manifest the tarball held, served byte for byte
    instances: dict[str, bytes] = field(default_factory=dict)  # a list's manifests by digest
    platforms: dict[str, str] = field(default_factory=dict)  # arch -> image id, for a list


@dataclass
class Made:
    """A tarball and how to read what it holds."""

    path: Path
    kind: str  # docker-archive, oci or dir
    plain: Path  # the uncompressed tar, to read expectations from
    source: Built  # the image whose message its (amd64) images print


def tag_of(reference: str) -> str:
    """The tag of an archive's image name: ``localhost/app:1`` -> ``1``; a bare word is a tag itself."""
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "latest" if "/" in reference else last


@pytest.fixture(scope="module")
def made(tmp_path_factory, engine, images, skopeo, podman) -> dict[str, Made]:
    """Every tarball, made once while the source images are still in the engine."""
    base = tmp_path_factory.mktemp("kinds")
    a, b = images["a"], images["b"]
    daemon_a, daemon_b = f"docker-daemon:{a.ref}", f"docker-daemon:{b.ref}"
    found: dict[str, Made] = {}

    save = engine.save(base / "save-a.tar", a.ref)
    found["docker-save"] = Made(save, "docker-archive", save, a)
    two = engine.save(base / "save-ab.tar", a.ref, b.ref)
    found["docker-save-two"] = Made(two, "docker-archive", two, a)
    for how in COMPRESSORS:
        found[f"docker-save.{how}"] = Made(compress(save, how), "docker-archive", save, a)

    podman.load(save)
    podman_da = podman.save(base / "podman-da.tar", a.ref, "docker-archive")
    found["podman-docker-archive"] = Made(podman_da, "docker-archive", podman_da, a)
    podman_oci = podman.save(base / "podman-oci.tar", a.ref, "oci-archive")
    found["podman-oci-archive"] = Made(podman_oci, "oci", podman_oci, a)

    skopeo_da = base / "skopeo-da.tar"
    skopeo.copy(daemon_a, f"docker-archive:{skopeo_da}:rt-skopeo/arch:sa")
    found["skopeo-docker-archive"] = Made(skopeo_da, "docker-archive", skopeo_da, a)
    skopeo_oci = base / "skopeo-oci.tar"
    skopeo.copy(daemon_a, f"oci-archive:{skopeo_oci}:oa")
    found["skopeo-oci-archive"] = Made(skopeo_oci, "oci", skopeo_oci, a)
    skopeo.copy(daemon_a, f"oci:{base / 'oci-dir'}:od")
    oci_dir = tar_dir(base / "oci-dir", base / "oci-dir.tar")
    found["skopeo-oci-dir"] = Made(oci_dir, "oci", oci_dir, a)
    skopeo.copy(daemon_a, f"dir:{base / 'skopeo-dir'}")
    skopeo_dir = tar_dir(base / "skopeo-dir", base / "skopeo-dir.tar")
    found["skopeo-dir"] = Made(skopeo_dir, "dir", skopeo_dir, a)

    multi_platform_layout(skopeo, base / "multi", daemon_a, daemon_b, "multi")
    multi = tar_dir(base / "multi", base / "multi.tar")
    found["oci-multi-platform"] = Made(multi, "oci", multi, a)
    return found


def expectations(made: Made, images: dict[str, Built]) -> dict[str, Expect]:
    """Tag -> what it must pull back as, read from the tarball's own manifests."""
    messages = {built.id: built.message for built in images.values()}
    if made.kind == "docker-archive":
        return {tag_of(name): Expect(image["id"], messages[image["id"]])
                for image in docker_archive_images(made.plain) for name in image["repo_tags"]}
    if made.kind == "dir":
        manifest = members(made.plain)["manifest.json"]
        return {"": Expect(json.loads(manifest)["config"]["digest"], made.source.message, manifest)}
    expect = {}
    for name, ref in oci_layout_refs(made.plain).items():
        files = ref["blobs"]
        if ref["media_type"] != OCI_INDEX:
            expect[tag_of(name)] = Expect(ref["doc"]["config"]["digest"], made.source.message, ref["bytes"])
            continue
        instances, platforms = {}, {}
        for desc in ref["doc"]["manifests"]:
            data = files["blobs/" + desc["digest"].replace(":", "/")]
            instances[desc["digest"]] = data
            platforms[desc["platform"]["architecture"]] = json.loads(data)["config"]["digest"]
        expect[tag_of(name)] = Expect(platforms["amd64"], made.source.message, ref["bytes"], instances, platforms)
    return expect


CASES = [
    # (case id, tarball, unit_metadata tag or None)
    ("docker-save", "docker-save", None),
    ("docker-save+tag", "docker-save", "x"),
    ("docker-save-two", "docker-save-two", None),
    *[(f"docker-save.{how}", f"docker-save.{how}", None) for how in COMPRESSORS],
    ("podman-docker-archive", "podman-docker-archive", None),
    ("podman-oci-archive", "podman-oci-archive", None),
    ("skopeo-docker-archive", "skopeo-docker-archive", None),
    ("skopeo-oci-archive", "skopeo-oci-archive", None),
    ("skopeo-oci-archive+tag", "skopeo-oci-archive", "x"),
    ("skopeo-oci-dir", "skopeo-oci-dir", None),
    ("skopeo-dir+tag", "skopeo-dir", "x"),
    ("oci-multi-platform", "oci-multi-platform", None),
]


@pytest.mark.parametrize(("key", "tag"), [pytest.param(k, t, id=c) for c, k, t in CASES])
def test_tarball_imports_and_pulls_back(pulp_server, engine, skopeo, podman, images, made, registry,
                                        tmp_path: Path, key: str, tag: str | None) -> None:
    """Import, then pull every tag back with docker (and skopeo and podman where a manifest was held)."""
    tarball = made[key]
    expect = expectations(tarball, images)
    if tag is not None:
        assert len(expect) == 1, "a tag is given only for one-image tarballs"
        required = {tag: next(iter(expect.values()))}
    else:
        required = expect

    repo_id = new_repo_id(key.replace(".", "-").replace("+", "-"))
    task = import_tarball(pulp_server, repo_id, tarball.path, tag)
    assert task["state"] == "finished", json.dumps(task.get("error"), indent=1)
    summary, details = task["result"]["summary"], task["result"]["details"]
    applied = set(summary["tags"])
    # A tag given replaces the names the archive carries (the error of the two-image case says so).
    assert applied == set(required), summary

    served = {name: served_digest(pulp_server, repo_id, name) for name in applied}
    imported = set(details["manifests"])
    images_by_digest = {entry["digest"]: entry for entry in details["images"]}
    for name, digest in served.items():
        assert digest in imported, (name, digest, details["manifests"])
        assert name in images_by_digest[digest]["tags"], details["images"]
    listed = {d for e in required.values() for d in e.instances}
    assert set(served.values()) | listed == imported, details["manifests"]

    for name, want in required.items():
        digest = served[name]
        assert images_by_digest[digest]["type_id"] == ("docker_manifest_list" if want.instances else "docker_manifest")
        if want.manifest is not None:
            assert digest == sha256_bytes(want.manifest)
        check_docker_pull(engine, images, f"{registry}/{repo_id}", name, digest, want)
        if want.manifest is not None:
            check_skopeo_and_podman(skopeo, podman, tmp_path, f"{registry}/{repo_id}", name, digest, want)


def check_docker_pull(engine, images, repo: str, name: str, digest: str, want: Expect) -> None:
    """Remove the source from the engine, ``docker pull``: same id, same digest, prints the message."""
    engine.rmi(*{built.id for built in images.values()}, want.image_id, *want.platforms.values())
    assert not engine.has_image(want.image_id)
    ref = f"{repo}:{name}"
    engine.pull(ref)
    assert engine.image_id(ref) == want.image_id
    assert f"{repo}@{digest}" in engine.repo_digests(ref)
    assert engine.run_image(ref).strip() == want.message
    for arch, image_id in want.platforms.items():
        if arch != "amd64":
            engine.pull(ref, "--platform", f"linux/{arch}")
            assert engine.image_id(ref) == image_id, arch


def check_skopeo_and_podman(skopeo, podman, tmp_path: Path, repo: str, name: str, digest: str,
                            want: Expect) -> None:
    """skopeo copies the manifest (and a list's instances) back byte for byte; podman pulls the same digest."""
    out = tmp_path / f"back-{re.sub(r'[^a-z0-9]', '-', name)}"
    shutil.rmtree(out, ignore_errors=True)
    skopeo.copy(f"docker://{repo}:{name}", f"dir:{out}", *(["--all"] if want.instances else []))
    assert (out / "manifest.json").read_bytes() == want.manifest
    for instance, data in want.instances.items():
        assert (out / f"{instance.split(':', 1)[1]}.manifest.json").read_bytes() == data
    podman.rmi(want.image_id)
    podman.pull(f"{repo}:{name}")
    inspected = podman.inspect(f"{repo}:{name}")
    assert f"{repo}@{digest}" in inspected["RepoDigests"], inspected["RepoDigests"]


def test_two_images_with_one_tag_fail_and_store_nothing(pulp_server, made) -> None:
    """A tag for an archive of two images is refused: error naming the several images, zero units."""
    repo_id = new_repo_id("two-tagged")
    task = import_tarball(pulp_server, repo_id, made["docker-save-two"].path, "x")
    assert task["state"] == "error", task
    description = task["error"]["description"]
    assert re.search(r"(several|multiple|two|2|more than one)\b.*images?", description, re.I), task["error"]
    assert repo_units(pulp_server, repo_id) == []
    assert pulp_server.api("GET", f"repositories/{repo_id}/").json()["content_unit_counts"] == {}
