"""``devel/bench`` runs end to end at a tiny size: every phase, the table, the JSON, and a clean work dir.

Timings are not checked (they depend on the machine); what is checked is that each phase produced its
figures from real runs of pulp-admin, skopeo, curl, cp and cat against both servers. The tarballs the
bench uploads for ``--kind docker-archive`` and ``oci-archive`` are checked member by member first.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tracemalloc
from pathlib import Path

import imagegen
import pytest
from benchmarks import images

BENCH = Path(__file__).resolve().parents[2] / "devel" / "bench"
TOOLS = ("skopeo", "docker-registry", "curl")


@pytest.fixture
def tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"devel/bench needs {', '.join(missing)}")


def run_bench(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=timeout)


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def members(tar_path: Path) -> tuple[list[str], dict[str, bytes]]:
    """Member names in archive order, and the content of every regular file."""
    with tarfile.open(tar_path) as tar:
        infos = tar.getmembers()
        return [i.name for i in infos], {i.name: tar.extractfile(i).read() for i in infos if i.isfile()}


def dir_image(image: images.Image) -> tuple[dict, bytes, dict[str, bytes]]:
    """The skopeo dir's manifest, its config's bytes, and each layer's uncompressed tar by digest."""
    manifest = json.loads((image.dir / "manifest.json").read_bytes())
    config = (image.dir / manifest["config"]["digest"].split(":")[1]).read_bytes()
    layers = {layer["digest"]: gzip.decompress((image.dir / layer["digest"].split(":")[1]).read_bytes())
              for layer in manifest["layers"]}
    return manifest, config, layers


@pytest.fixture
def every_kind(tmp_path) -> images.Image:
    return images.build(tmp_path, "img", 200_000, images.seed_for(7), kinds=images.KINDS)


def test_docker_archive_is_docker_save_of_the_same_image(every_kind, tmp_path):
    image = every_kind
    upload = image.upload(images.DOCKER_ARCHIVE)
    manifest, config, plain_layers = dir_image(image)
    names, files = members(upload.tar)

    entries = json.loads(files["manifest.json"])
    assert isinstance(entries, list) and len(entries) == 1
    entry = entries[0]
    assert entry["RepoTags"] == ["bench/img:latest"]
    # The config is the dir's, byte for byte, named by its own sha256.
    assert entry["Config"] == f"{hashlib.sha256(config).hexdigest()}.json"
    assert files[entry["Config"]] == config
    assert sha256(config) == manifest["config"]["digest"]
    # Docker 20.10 layout: <id>/layer.tar, uncompressed, whose sha256 are the config's diff_ids in order.
    diff_ids = json.loads(config)["rootfs"]["diff_ids"]
    assert len(entry["Layers"]) == len(diff_ids) == image.layers == 4
    parent = None
    for name, diff_id, dir_layer in zip(entry["Layers"], diff_ids, manifest["layers"], strict=True):
        v1_id, leaf = name.split("/")
        assert leaf == "layer.tar" and len(v1_id) == 64
        layer = files[name]
        assert not layer.startswith(b"\x1f\x8b") and sha256(layer) == diff_id
        assert layer == plain_layers[dir_layer["digest"]]  # the same content as the dir's gzipped layer
        assert files[f"{v1_id}/VERSION"] == b"1.0"
        v1 = json.loads(files[f"{v1_id}/json"])
        assert v1["id"] == v1_id and v1.get("parent") == parent
        assert f"{v1_id}/" in names or v1_id in names  # the layer's directory entry
        parent = v1_id
    assert json.loads(files["repositories"]) == {"bench/img": {"latest": parent}}
    assert names == sorted(names)  # docker's tar walks its export dir in lexical order
    # What the bench expects the server to import: the uncompressed layers as they are.
    assert upload.big_digest == max(diff_ids, key=lambda d: len(files[entry["Layers"][diff_ids.index(d)]]))
    expected = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                           "digest": sha256(config)},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": len(files[n]),
                            "digest": d} for n, d in zip(entry["Layers"], diff_ids, strict=True)]}
    assert upload.manifest_digest == sha256(json.dumps(expected, indent=3).encode())
    # Deterministic: a second image from the same seed gives the same archives, byte for byte (the tarred
    # dir keeps the files' mtimes, so only its blobs are the same).
    again = images.build(tmp_path / "again", "img", 200_000, images.seed_for(7), kinds=images.KINDS)
    assert again.manifest_digest == image.manifest_digest
    for kind in (images.DOCKER_ARCHIVE, images.OCI_ARCHIVE):
        assert again.upload(kind).tar.read_bytes() == image.upload(kind).tar.read_bytes(), kind


def test_oci_archive_is_an_oci_layout_of_the_same_image(every_kind):
    image = every_kind
    upload = image.upload(images.OCI_ARCHIVE)
    manifest, config, _ = dir_image(image)
    names, files = members(upload.tar)

    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    [entry] = index["manifests"]
    assert entry["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "latest"
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert sha256(data) == "sha256:" + name.rsplit("/", 1)[1]
    oci = files[f"blobs/sha256/{entry['digest'].split(':')[1]}"]
    assert sha256(oci) == entry["digest"] == upload.manifest_digest and len(oci) == entry["size"]
    doc = json.loads(oci)
    assert doc["config"] == {"mediaType": "application/vnd.oci.image.config.v1+json",
                             "digest": manifest["config"]["digest"], "size": len(config)}
    assert files[f"blobs/sha256/{doc['config']['digest'].split(':')[1]}"] == config
    # The layers as the image has them: the dir's gzipped blobs, with OCI media types.
    assert [(x["digest"], x["size"]) for x in doc["layers"]] == [(x["digest"], x["size"]) for x in manifest["layers"]]
    assert {x["mediaType"] for x in doc["layers"]} == {"application/vnd.oci.image.layer.v1.tar+gzip"}
    assert upload.big_digest == image.big_digest
    assert names[-2:] == ["index.json", "oci-layout"] and len(files) == 2 + 1 + 1 + image.layers


def test_archives_are_written_streaming(tmp_path):
    """A 48 MiB layer goes into both archives without the process holding more than a few MiB."""
    out = tmp_path / "img"
    imagegen.make_image(out, 48 << 20, seed=3)
    tracemalloc.start()
    try:
        docker = imagegen.write_docker_archive(out, tmp_path / "d.tar")
        oci = imagegen.write_oci_archive(out, tmp_path / "o.tar")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak
    assert docker.big_layer.size > 47 << 20 and oci.big_layer.size > 47 << 20
    with tarfile.open(tmp_path / "d.tar") as tar:
        [entry] = json.load(tar.extractfile("manifest.json"))
        big = tar.extractfile(entry["Layers"][0])
        sha = hashlib.sha256()
        while chunk := big.read(1 << 20):
            sha.update(chunk)
        config = json.load(io.BytesIO(tar.extractfile(entry["Config"]).read()))
    assert f"sha256:{sha.hexdigest()}" == config["rootfs"]["diff_ids"][0] == docker.big_layer.digest


def test_bench_writes_archives_only_for_single_images(tmp_path):
    out = tmp_path / "list"
    imagegen.make_image(out, 10_000, platforms=["linux/amd64", "linux/arm64"])
    with pytest.raises(ValueError, match="manifest list"):
        imagegen.write_docker_archive(out, tmp_path / "d.tar")


@pytest.mark.parametrize("kind", [images.SKOPEO_DIR, images.DOCKER_ARCHIVE])
def test_bench_runs_every_phase_at_a_tiny_size(tools, tmp_path, kind):
    """Every phase; with ``--kind docker-archive --compare-kinds`` the in phase uploads the docker-archive
    (``ours``) and the tarred skopeo dir (``ours_skopeo-dir``) of the same image in the same rounds."""
    work, out = tmp_path / "work", tmp_path / "bench.json"
    extra = [] if kind == images.SKOPEO_DIR else ["--kind", kind, "--compare-kinds"]
    result = run_bench("--size", "6MiB", "--rounds", "1", "--parallel-count", "2", "--parallel-size", "3MiB",
                       "--only", "in,out,parallel", "--idle-seconds", "1", "--workdir", str(work), "--json", str(out),
                       *extra)
    assert result.returncode == 0, result.stderr[-3000:]

    doc = json.loads(out.read_text())
    results = doc["results"]
    assert set(results) == {"idle", "pickup", "start", "in", "out", "parallel"}
    assert results["idle"]["ours_tree_rss_MB"] > 0 and results["idle"]["seconds"] == 1
    assert len(results["pickup"]["all_s"]) == results["pickup"]["count"] > 0
    assert 0 < results["start"]["listening_s"] <= results["start"]["ready_s"] and results["start"]["stop_s"] > 0
    for name in ("ours", "peer", "cp"):
        assert len(results["in"][name]["rounds"]) == 1
        assert results["in"][name]["median_wall_s"] > 0
    # The import task's own duration came from the server's task report.
    assert results["in"]["ours"]["rounds"][0]["extra"]["import_task_s"] is not None
    memory = results["in"]["memory"]
    assert memory["tree_peak_rss_MB"] >= memory["idle_tree_rss_MB"] > 0
    assert any(name.startswith("pulp-server run") for name in memory["process_peak_rss_MB"])
    for name in ("pull_ours", "pull_peer", "get_ours", "get_peer", "get_sendfile", "cat"):
        assert results["out"][name]["median_wall_s"] > 0
    assert results["parallel"]["images"] == 2
    assert results["parallel"]["single"]["aggregate_MBps"] > 0
    assert results["parallel"]["concurrent"]["aggregate_MBps"] > 0

    targets = {t["name"]: t for t in doc["targets"]}
    expected = {"idle_cpu", "idle_memory", "pickup", "start", "stop", "in_vs_skopeo_push", "in_vs_cp", "in_task",
                "out_pull", "out_get_vs_cat", "out_get_vs_sendfile", "memory", "parallel"}
    if kind != images.SKOPEO_DIR:
        expected.add(f"in_{kind}_vs_skopeo_dir")
        assert results["in"]["kind"] == kind
        assert results["in"]["kinds"] == {kind: "ours", "skopeo-dir": "ours_skopeo-dir"}
        compared = results["in"]["ours_skopeo-dir"]
        assert len(compared["rounds"]) == 1 and compared["rounds"][0]["extra"]["import_task_s"] is not None
        assert set(doc["image"]["kinds"]) == {kind, images.SKOPEO_DIR}
        assert doc["image"]["kinds"][kind]["manifest_digest"] != doc["image"]["manifest_digest"]
        assert f"in: {kind} vs skopeo-dir tarball" in result.stdout and "kinds: " in result.stdout
    assert set(targets) == expected
    for name, target in targets.items():
        assert isinstance(target["pass"], bool) and (target["value"] > 0 or name == "idle_cpu")
    assert doc["missed"] == [name for name, t in targets.items() if not t["pass"]]
    assert doc["image"]["layers"] == 4 and doc["machine"]["nproc"] >= 1
    # The server ran from this .venv, which has the test extras (psutil for one: the bench needs it).
    assert Path(doc["server"]["exe"]).parent == Path(sys.executable).parent
    assert "psutil" in doc["server"]["test_only_imports"] == results["idle"]["server_test_only_imports"]

    assert "| figure" in result.stdout and "parallel: 2 uploads at once" in result.stdout
    # Servers stopped, images and data dirs removed.
    assert list(work.iterdir()) == []


def test_bench_runs_push_and_sync_at_a_tiny_size(tools, tmp_path):
    """``--only push,sync``: skopeo pushes into both servers (a fresh name each round, which creates its
    repository on ours), N small pushes at once and one at a time, and a sync of a fresh repository from
    distribution against skopeo's copy of the same image; memory sampled during ours."""
    work, out = tmp_path / "work", tmp_path / "bench.json"
    result = run_bench("--only", "push,sync", "--size", "6MiB", "--rounds", "2", "--parallel-push", "2",
                       "--parallel-size", "3MiB", "--idle-seconds", "1", "--workdir", str(work), "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]

    doc = json.loads(out.read_text())
    results = doc["results"]
    assert set(results) == {"idle", "pickup", "start", "push", "push_parallel", "sync"} | (
        {"docker_push"} if shutil.which("dockerd") else set())
    assert doc["options"]["phases"] == ["push", "sync"] and doc["options"]["parallel_push"] == 2
    for phase in ("push", "sync"):
        for name in ("ours", "peer"):
            assert len(results[phase][name]["rounds"]) == 2
            assert results[phase][name]["median_wall_s"] > 0
        memory = results[phase]["memory"]
        assert len(memory["rounds"]) == 2
        assert memory["tree_peak_rss_MB"] >= memory["idle_tree_rss_MB"] > 0
        assert any(name.startswith("pulp-server run") for name in memory["process_peak_rss_MB"])
    assert results["push"]["ours"]["median_server_cpu_s"] > 0
    # Every sync round downloaded the image's blobs (config and 4 layers): the store was emptied between rounds.
    for sample in results["sync"]["ours"]["rounds"]:
        assert sample["extra"]["blobs_downloaded"] == 5 and sample["extra"]["task_s"] is not None
    par = results["push_parallel"]
    assert par["images"] == 2 and len(par["concurrent_tree_peak_rss_MB"]) == 2
    for name in ("single", "concurrent", "peer_single", "peer_concurrent"):
        assert par[name]["aggregate_MBps"] > 0

    targets = {t["name"]: t for t in doc["targets"]}
    assert set(targets) == {"idle_cpu", "idle_memory", "pickup", "start", "stop", "push", "memory_push",
                            "push_parallel", "sync", "memory_sync"} | (
        {"docker_push"} if shutil.which("dockerd") else set())
    for name, target in targets.items():
        assert isinstance(target["pass"], bool) and (target["value"] > 0 or name == "idle_cpu")
    assert doc["missed"] == [name for name, t in targets.items() if not t["pass"]]
    assert "push: skopeo push 6 MiB, ours vs distribution" in result.stdout
    assert "sync: 6 MiB from distribution vs skopeo copy" in result.stdout
    assert "push: 2 skopeo pushes at once" in result.stdout
    if shutil.which("dockerd"):  # docker push from a private engine, into both servers
        assert "push: docker push 6 MiB, ours vs distribution" in result.stdout
        assert results["docker_push"]["ours"]["median_wall_s"] > 0
    assert "push round 2/2 ours" in result.stderr and "sync round 2/2 peer" in result.stderr
    assert list(work.iterdir()) == []


def test_bench_runs_the_server_from_a_runtime_only_venv(tools, tmp_path):
    """``--server-venv DIR`` makes DIR as ``make run`` makes .venv on a fresh clone (no extras) and runs
    ``pulp-server`` from it: nothing only the tests install is there to be imported by the server."""
    venv, out = tmp_path / "runtime-venv", tmp_path / "bench.json"
    result = run_bench("--only", "in", "--size", "2MiB", "--rounds", "1", "--idle-seconds", "1",
                       "--server-venv", str(venv), "--workdir", str(tmp_path / "work"), "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["server"] == {"exe": str(venv / "bin" / "pulp-server"), "test_only_imports": []}
    assert doc["results"]["idle"]["ours_tree_rss_MB"] > 0
    assert "server venv of runtime dependencies only" in result.stdout
    assert subprocess.run([str(venv / "bin" / "python"), "-c", "import psutil"], capture_output=True).returncode != 0


def test_bench_refuses_an_unknown_phase(tmp_path):
    result = run_bench("--only", "in,sideways", "--workdir", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert "unknown phase 'sideways'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_bench_refuses_an_unknown_kind(tmp_path):
    result = run_bench("--compare-kinds", "skopeo-dir,tarball", "--workdir", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert "unknown kind 'tarball'" in result.stderr
    result = run_bench("--kind", "docker-archive", "--compare-kinds", "--only", "out", "--workdir", str(tmp_path),
                       timeout=60)
    assert result.returncode == 2 and "needs the in phase" in result.stderr
    assert list(tmp_path.iterdir()) == []
