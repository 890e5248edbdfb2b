"""``pulp-admin docker repo uploads …`` and ``tag`` as subprocesses against the real server with the docker importer.

Covers the upload flow with and without --tag, a skopeo directory tarred on the fly, an interrupted
upload resumed with only the remainder on the wire (measured by a counting proxy in between), Ctrl-C,
cancel, a bad tarball's task error, and a pull of the uploaded image with skopeo.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import imagegen
import pytest
from admin_runner import PULP_ADMIN, Admin, server_address
from tarballs import DATA, retar
from tcp_proxy import CountingProxy, RecordingProxy

from pulp_admin_client.upload_source import open_source

FACTS = json.loads((DATA / "FACTS.json").read_text())["skopeo-v2s2.tar"]
DIGEST = FACTS["manifest_digest_of_file_bytes"]
BLOBS = sorted(f"sha256:{name}" for name in FACTS["blob_files"])
MiB = 1024 * 1024


def api(server: Any, method: str, path: str, **kw: Any) -> Any:
    reply = server.api(method, path, **kw)
    assert reply.status_code < 400, reply.text
    return reply.json()


def server_uploads(server: Any) -> set[str]:
    return set(api(server, "GET", "content/uploads/")["upload_ids"])


@pytest.fixture
def assert_nothing_left(admin: Admin, docker_server: Any):
    """Call to check that no upload record is left here and no upload this test made is left on the server."""
    before = server_uploads(docker_server)

    def check() -> None:
        assert admin.records == []
        assert server_uploads(docker_server) <= before

    return check


def extract(tarball: Path, folder: Path) -> Path:
    folder.mkdir()
    with tarfile.open(tarball) as tar:
        tar.extractall(folder, filter="data")
    return folder


def tag_units(admin: Admin, repo_id: str) -> dict[str, str]:
    units = admin.json("docker", "repo", "search", "tag", "--repo-id", repo_id)
    return {u["metadata"]["name"]: u["metadata"]["manifest_digest"] for u in units}


def test_upload_with_tag(admin: Admin, repo_id, assert_nothing_left):
    results = admin.json("docker", "repo", "uploads", "upload", "--repo-id", repo_id,
                         "-f", str(DATA / "skopeo-v2s2.tar"), "--tag", "latest")
    assert len(results) == 1
    result = results[0]
    assert result["state"] == "finished"
    assert result["manifest_digest"] == DIGEST
    assert result["unit"]["type_id"] == "docker_manifest"
    assert sorted(result["blobs_imported"] + result["blobs_present"]) == BLOBS
    assert result["tag"]["name"] == "latest" and result["tag"]["manifest_digest"] == DIGEST
    assert result["bytes_sent"] == (DATA / "skopeo-v2s2.tar").stat().st_size
    assert tag_units(admin, repo_id) == {"latest": DIGEST}
    manifests = admin.json("docker", "repo", "search", "manifest", "--repo-id", repo_id)
    assert [m["metadata"]["digest"] for m in manifests] == [DIGEST]
    blobs = admin.json("docker", "repo", "search", "blob", "--repo-id", repo_id)
    assert sorted(b["metadata"]["digest"] for b in blobs) == BLOBS
    assert "latest" in admin.ok("docker", "repo", "search", "tag", "--repo-id", repo_id)
    assert_nothing_left()


def test_upload_without_tag_prints_the_outcome(admin: Admin, repo_id, assert_nothing_left):
    out = admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f",
                   str(DATA / "skopeo-v2s2.tar"))
    assert f"Manifest {DIGEST} imported into repository {repo_id}" in out
    assert re.search(r"Blobs imported: \d+, already present: \d+", out)
    assert re.search(r"^skopeo-v2s2\.tar: .*100%.*done$", out, re.M)  # plain progress: stdout is not a TTY
    assert "skopeo-v2s2.tar: importing into the repository...\n" in out
    assert "Tag " not in out
    assert tag_units(admin, repo_id) == {}
    again = admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f",
                     str(DATA / "skopeo-v2s2.tar"), "-v")
    assert f"Blobs imported: 0, already present: {len(BLOBS)}" in again
    assert all(f"present  {digest}" in again for digest in BLOBS)
    assert_nothing_left()


def test_directory_is_uploaded_as_a_tar_made_on_the_fly(admin: Admin, repo_id, assert_nothing_left, tmp_path):
    folder = extract(DATA / "skopeo-v2s2.tar", tmp_path / "image")
    result, = admin.json("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(folder),
                         "--tag", "fromdir")
    assert result["manifest_digest"] == DIGEST
    assert result["bytes_sent"] == open_source(folder).size
    assert tag_units(admin, repo_id) == {"fromdir": DIGEST}
    assert_nothing_left()


def test_dir_option_uploads_each_image_in_it(admin: Admin, repo_id, assert_nothing_left, tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(DATA / "skopeo-oci.tar", batch / "a-oci.tar")
    extract(DATA / "skopeo-v2s2.tar", batch / "b-image")
    (batch / "notes.txt").write_text("not an image")
    results = admin.json("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-d", str(batch))
    oci = json.loads((DATA / "FACTS.json").read_text())["skopeo-oci.tar"]["manifest_digest_of_file_bytes"]
    assert [r["manifest_digest"] for r in results] == [oci, DIGEST]
    admin.fails("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-d", str(batch), "--tag", "x",
                code=2, says="--tag names one image")
    assert_nothing_left()


def test_a_bad_tarball_gives_the_tasks_error_code(admin: Admin, repo_id, docker_server, assert_nothing_left, tmp_path):
    missing = tmp_path / "missing-layer.tar"
    layer = FACTS["layers"][0].split(":")[1]
    missing.write_bytes(retar("skopeo-v2s2.tar", skip={layer}))
    line = admin.fails("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(missing), "--tag",
                       "t", code=1, says="DKR1018")
    assert layer in line
    repo = api(docker_server, "GET", f"repositories/{repo_id}/")
    assert not any(repo["content_unit_counts"].values())

    # With --json, the images that went in before the failure are still reported. (A broken manifest is
    # the server's to find: the client only tells the kind of an archive.)
    broken = tmp_path / "broken-manifest.tar"
    broken.write_bytes(retar("skopeo-v2s2.tar", replace={"manifest.json": b"{broken"}))
    result = admin.run("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f",
                       str(DATA / "skopeo-v2s2.tar"), "-f", str(broken), "--json")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1 and "DKR1034" in result.stderr
    done, failed = json.loads(result.stdout)
    assert (done["state"], done["manifest_digest"]) == ("finished", DIGEST)
    assert failed["state"] == "error" and failed["file"] == str(broken) and "DKR1034" in failed["error"]
    assert_nothing_left()


def _tar_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("name, content, says", [
    # (not random from the first byte: one in 256 starts with "{", which the client takes for a manifest list)
    ("junk.tar", b"junk" + os.urandom(50_000), "DKR1030: The uploaded file is not a readable tar archive"),
    ("notes.tar", _tar_of({"notes.txt": b"hello", "todo.txt": b"x"}), "DKR1033"),
    ("notes.tar.gz", gzip.compress(_tar_of({"notes.txt": b"hello"})), "(found: notes.txt)"),
    ("cut.tar", (DATA / "skopeo-v2s2.tar").read_bytes()[:30_000], "truncated"),
    ("v1.tar", _tar_of({"repositories": b"{}", "abc/layer.tar": b"", "abc/json": b"{}"}),
     "DKR1032: The uploaded tarball holds a Docker v1 image"),
], ids=["not-a-tar", "tar-of-no-kind", "gzipped-tar-of-no-kind", "truncated", "docker-v1"])
def test_a_file_of_no_known_kind_is_refused_before_anything_is_sent(admin: Admin, repo_id, docker_server, tmp_path,
                                                                     assert_nothing_left, name, content, says):
    bad = tmp_path / name
    bad.write_bytes(content)
    recorder = RecordingProxy(docker_server.url)
    admin.configure(host="127.0.0.1", port=recorder.port)
    try:
        line = admin.fails("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f",
                           str(DATA / "skopeo-v2s2.tar"), "-f", str(bad), code=65, says=says)
    finally:
        recorder.close()
    assert line.startswith(f"error: {bad} was not sent: ")
    assert [path for _method, path, _body in recorder.requests if "content/uploads" in path] == []  # not even the first
    assert_nothing_left()


def test_v1_upload_options_fail_with_one_line(admin: Admin, repo_id, assert_nothing_left):
    admin.fails("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(DATA / "docker-archive.tar"),
                "--mask-id", "f38e4790", code=65, says="--mask-id skips the ancestors of a Docker v1 image")
    admin.fails("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "--manifest-list", "-f",
                str(DATA / "skopeo-v2s2.tar"), code=65, says="--manifest-list wants a manifest list as a JSON file")
    assert_nothing_left()


def test_bg_leaves_the_import_running_and_resume_cleans_up(admin: Admin, repo_id, docker_server, assert_nothing_left):
    out = admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(DATA / "skopeo-v2s2.tar"),
                   "--tag", "bg", "--bg")
    assert "The request has been queued on the server.\n" in out and "Manifest " not in out
    task_id = re.search(r"^Task (\S+) is running in the background", out, re.M).group(1)
    upload_id = re.search(r"`pulp-admin docker repo uploads resume --upload-id (\S+)` then deletes it", out).group(1)
    assert docker_server.wait_task(task_id)["state"] == "finished"
    assert tag_units(admin, repo_id) == {"bg": DIGEST}
    assert [r.stem for r in admin.records] == [upload_id]  # the import read the upload; it is not deleted yet
    again = admin.ok("docker", "repo", "uploads", "resume", "--upload-id", upload_id)
    assert f"Manifest {DIGEST} imported into repository {repo_id}" in again
    assert_nothing_left()


def test_unreadable_input_is_refused_before_anything_is_sent(admin: Admin, repo_id, assert_nothing_left, tmp_path):
    admin.fails("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(tmp_path / "absent.tar"),
                code=65, says="cannot read")
    (tmp_path / "notimage").mkdir()
    admin.fails("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(tmp_path / "notimage"),
                code=65, says="without a manifest.json")
    assert_nothing_left()


def test_tag_command(admin: Admin, repo_id, docker_server, assert_nothing_left):
    admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(DATA / "skopeo-v2s2.tar"))
    out = admin.ok("docker", "repo", "tag", "--repo-id", repo_id, "--tag-name", "v1", "--digest", DIGEST)
    assert f"Tag v1 -> {DIGEST}" in out
    assert tag_units(admin, repo_id) == {"v1": DIGEST}
    admin.fails("docker", "repo", "tag", "--repo-id", repo_id, "--tag-name", "v2", "--digest",
                "sha256:" + "e" * 64, code=1, says="DKR1010")
    admin.fails("docker", "repo", "tag", "--repo-id", repo_id, "--tag-name", "v2", "--digest", "latest",
                code=2, says="not a digest")
    assert tag_units(admin, repo_id) == {"v1": DIGEST}
    # Pulp 2's recipes spell the option --manifest-digest (2.x) and --digest (2-master).
    admin.ok("docker", "repo", "tag", "--repo-id", repo_id, "--tag-name", "v3", "--manifest-digest", DIGEST)
    assert tag_units(admin, repo_id) == {"v1": DIGEST, "v3": DIGEST}
    assert_nothing_left()


def test_update_sets_and_removes_tags(admin: Admin, repo_id, assert_nothing_left):
    admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(DATA / "skopeo-v2s2.tar"),
             "--tag", "old")
    out = admin.ok("docker", "repo", "update", "--repo-id", repo_id, "--tag", f"latest:{DIGEST}",
                   "--tag", f"short:{DIGEST.split(':')[1][:6]}", "--remove-tag", "old", "--remove-tag", "never")
    assert out.splitlines() == [f"Repository [{repo_id}] successfully updated", f"Tag latest -> {DIGEST}",
                                f"Tag short -> {DIGEST}", "Tag old removed", "Tag never was not in the repository"]
    assert tag_units(admin, repo_id) == {"latest": DIGEST, "short": DIGEST}
    # A digest naming no manifest of the repository changes nothing, not even the rest of the update.
    admin.fails("docker", "repo", "update", "--repo-id", repo_id, "--description", "changed", "--tag",
                "x:sha256:" + "e" * 64, code=65, says="no manifest or manifest list in repository")
    assert admin.json("docker", "repo", "list")  # still answers
    described = {r["id"]: r for r in admin.json("docker", "repo", "list")}[repo_id]["description"]
    assert described is None and tag_units(admin, repo_id) == {"latest": DIGEST, "short": DIGEST}
    result = admin.run("docker", "repo", "update", "--repo-id", repo_id, "--tag", "x:abc")
    assert result.returncode == 2 and "at least 6 of its hex digits" in result.stderr
    assert_nothing_left()


@pytest.fixture
def big_image(tmp_path_factory) -> tuple[Path, str]:
    """A 24 MiB generated skopeo dir and its manifest digest."""
    folder = tmp_path_factory.mktemp("big") / "image"
    return folder, imagegen.make_image(folder, 24 * MiB, small_layers=2)


@pytest.fixture
def proxy(docker_server, admin: Admin):
    """A counting proxy in front of the server; admin.conf points pulp-admin at it."""
    host, port = server_address(docker_server)
    counting = CountingProxy(host, port)
    admin.configure(host="127.0.0.1", port=counting.port)
    yield counting
    counting.close()


def _resume_hint(line: str) -> str:
    match = re.search(r"resume with `pulp-admin docker repo uploads resume --upload-id ([0-9a-f-]+)`", line)
    assert match, line
    return match.group(1)


@pytest.mark.parametrize("as_dir", [False, True], ids=["tarball", "directory"])
def test_dropped_upload_resumes_with_only_the_remainder(admin: Admin, repo_id, docker_server, assert_nothing_left,
                                                        proxy, big_image, tmp_path, as_dir):
    folder, digest = big_image
    target = folder if as_dir else imagegen.tar_dir(folder, tmp_path / "big.tar")
    size = open_source(target).size
    proxy.cut_after(10 * MiB)
    line = admin.fails("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(target), "--tag",
                       "big", code=74, says="reached the server")
    upload_id = _resume_hint(line)
    held = api(docker_server, "GET", f"content/uploads/{upload_id}/")["size"]
    assert 0 < held < size
    proxy.reset()
    listed = admin.json("docker", "repo", "uploads", "list")
    assert [(u["upload_id"], u["server_size"], u["size"], u["tag"]) for u in listed] == [
        (upload_id, held, size, "big")]

    proxy.reset()
    result, = admin.json("docker", "repo", "uploads", "resume", "--upload-id", upload_id)
    remainder = size - held
    assert (result["resumed_from"], result["bytes_sent"]) == (held, remainder)
    # On the wire: the remainder plus HTTP headers and small JSON bodies, far from the whole upload again.
    assert remainder <= proxy.sent < remainder + 256 * 1024
    assert result["manifest_digest"] == digest
    assert result["tag"]["name"] == "big"
    assert tag_units(admin, repo_id) == {"big": digest}
    assert admin.json("docker", "repo", "uploads", "list") == []
    assert_nothing_left()


def test_ctrl_c_keeps_the_upload_for_resume(admin: Admin, repo_id, docker_server, assert_nothing_left, proxy,
                                            big_image, tmp_path):
    folder, digest = big_image
    tarball = imagegen.tar_dir(folder, tmp_path / "big.tar")
    proxy.stall_after(6 * MiB)
    process = admin.popen("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(tarball))
    try:
        assert proxy.tripped.wait(120), "the upload never reached 6 MiB"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert len(err.splitlines()) == 1 and err.startswith("error: interrupted after"), err
    upload_id = _resume_hint(err)
    proxy.release()
    held = api(docker_server, "GET", f"content/uploads/{upload_id}/")["size"]
    assert 0 < held <= 6 * MiB
    out = admin.ok("docker", "repo", "uploads", "resume")  # the only upload in progress
    assert f"Manifest {digest} imported" in out
    assert proxy.sent < tarball.stat().st_size - held + 256 * 1024
    assert_nothing_left()


def test_cancel_deletes_the_interrupted_upload(admin: Admin, repo_id, assert_nothing_left, proxy, big_image):
    folder, _ = big_image
    proxy.cut_after(4 * MiB)
    upload_id = _resume_hint(admin.fails("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f",
                                         str(folder), code=74, says="resume with"))
    proxy.reset()
    assert f"Upload {upload_id} canceled" in admin.ok("docker", "repo", "uploads", "cancel", "--all")
    assert_nothing_left()
    admin.fails("docker", "repo", "uploads", "resume", "--upload-id", upload_id, code=65, says="no upload")
    assert "No uploads to resume" in admin.ok("docker", "repo", "uploads", "resume")


def test_resume_refuses_a_changed_file(admin: Admin, repo_id, assert_nothing_left, proxy, tmp_path):
    tarball = tmp_path / "image.tar"
    shutil.copy(DATA / "skopeo-v2s2.tar", tarball)
    proxy.cut_after(30_000)  # of a 50 KiB tarball
    admin.configure(chunk_size=16384)
    upload_id = _resume_hint(admin.fails("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f",
                                         str(tarball), code=74, says="resume with"))
    proxy.reset()
    with open(tarball, "ab") as handle:
        handle.write(b"\0" * 1024)
    admin.fails("docker", "repo", "uploads", "resume", "--upload-id", upload_id, code=65, says="changed since")
    admin.ok("docker", "repo", "uploads", "cancel", "--upload-id", upload_id)
    assert_nothing_left()


def test_progress_bar_on_a_terminal(admin: Admin, repo_id, docker_server):
    leader, follower = pty.openpty()
    process = subprocess.Popen([str(PULP_ADMIN), "docker", "repo", "uploads", "upload", "--repo-id", repo_id,
                                "-f", str(DATA / "skopeo-v2s2.tar")], env=admin.env, stdout=follower,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        output += data
    assert process.wait(60) == 0, process.stderr.read()
    text = output.decode(errors="replace")
    assert "skopeo-v2s2.tar" in text and "50.0/50.0 KiB" in text  # name, bytes
    assert re.search(r"\d (KiB|MiB|GiB)/s", text) and not re.search(r"\d (kB|MB|GB)/s", text)  # binary rate
    assert "\x1b[" in text  # drawn by rich, not the plain lines
    assert "skopeo-v2s2.tar: importing into the repository... done" in text
    assert f"Manifest {DIGEST} imported" in text


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")
def test_uploaded_image_pulls_back_with_skopeo(admin: Admin, repo_id, docker_server, tmp_path):
    admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(DATA / "skopeo-v2s2.tar"),
             "--tag", "latest")
    admin.ok("docker", "repo", "publish", "run", "--repo-id", repo_id)
    host, port = server_address(docker_server)
    pulled = tmp_path / "pulled"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{host}:{port}/{repo_id}:latest",
                    f"dir:{pulled}"], check=True, capture_output=True, timeout=120)
    with tarfile.open(DATA / "skopeo-v2s2.tar") as tar:
        original = tar.extractfile("manifest.json").read()
    assert (pulled / "manifest.json").read_bytes() == original


def _peak_rss_kib(admin: Admin, *args: str) -> int:
    """Run pulp-admin under a small parent that reports the peak RSS of its one child, in KiB."""
    probe = ("import resource, subprocess, sys\n"
             "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", probe, str(PULP_ADMIN), *args], env=admin.env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def test_memory_stays_flat_on_a_large_upload(admin: Admin, repo_id, assert_nothing_left, tmp_path):
    folder = tmp_path / "large"
    imagegen.make_image(folder, 192 * MiB, small_layers=1, seed=7)
    tarball = imagegen.tar_dir(folder, tmp_path / "large.tar")
    admin.configure(chunk_size=8 * MiB)
    limit_kib = 100 * 1024  # about 40 MiB of interpreter and libraries, one 8 MiB chunk, and slack
    for source in (tarball, folder):
        peak = _peak_rss_kib(admin, "docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(source))
        assert peak < limit_kib, f"{source.name}: peak RSS {peak} KiB for a {192} MiB image"
    assert_nothing_left()


def test_ctrl_c_while_the_import_waits_then_resume_finishes_it(start_pulp_server, tmp_path):
    server = start_pulp_server(workers=0)  # no worker yet: the import task waits until one starts
    host, port = server_address(server)
    (tmp_path / "home").mkdir()
    admin = Admin(tmp_path / "home", host, port, tuple(server.auth))
    admin.ok("docker", "repo", "create", "--repo-id", "waiting")
    process = admin.popen("docker", "repo", "uploads", "upload", "--repo-id", "waiting", "-f",
                          str(DATA / "skopeo-v2s2.tar"), "--tag", "t")
    try:
        deadline = time.monotonic() + 120
        while not any(json.loads(r.read_text()).get("task_id") for r in admin.records):
            assert time.monotonic() < deadline and process.poll() is None, "the import was never requested"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and len(err.splitlines()) == 1, err
    assert "interrupted while task" in err
    upload_id = re.search(r"--upload-id ([0-9a-f-]+)", err).group(1)
    assert [r.stem for r in admin.records] == [upload_id]
    server.start_worker()
    out = admin.ok("docker", "repo", "uploads", "resume", "--upload-id", upload_id)
    assert f"Manifest {DIGEST} imported into repository waiting" in out
    assert f"Tag t -> {DIGEST}" in out
    assert admin.records == [] and server_uploads(server) == set()


def test_upload_of_a_docker_save_applies_its_repotags(admin: Admin, repo_id, assert_nothing_left):
    out = admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f",
                   str(DATA / "docker-archive.tar"))
    digest = re.search(r"^Manifest (sha256:[0-9a-f]{64}) imported", out, re.M).group(1)
    assert f"Tag 1.0 -> {digest}" in out
    assert tag_units(admin, repo_id) == {"1.0": digest}
    assert_nothing_left()


def test_upload_of_a_manifest_list_json_as_pulp_2_did(admin: Admin, repo_id, tmp_path, assert_nothing_left):
    """``-f list.json``: a list whose manifests the repository holds imports; one naming others is refused."""
    image = tmp_path / "multi"
    list_digest = imagegen.make_image(image, 32 * 1024, platforms=["linux/amd64", "linux/arm64"])
    admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id,
             "-f", str(imagegen.tar_dir(image, tmp_path / "multi.tar")))
    listing = tmp_path / "list.json"
    listing.write_bytes((image / "manifest.json").read_bytes())
    out = admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(listing),
                   "--tag", "multi")
    assert f"Manifest list {list_digest} imported into repository {repo_id}" in out
    assert tag_units(admin, repo_id) == {"multi": list_digest}
    other = f"{repo_id}-empty"
    admin.ok("docker", "repo", "create", "--repo-id", other)
    failed = admin.run("docker", "repo", "uploads", "upload", "--repo-id", other, "-f", str(listing))
    assert failed.returncode != 0
    assert "DKR1040" in failed.stderr or "DKR1037" in failed.stderr
    missing = json.loads(listing.read_bytes())["manifests"][0]["digest"]
    assert missing in failed.stderr
    assert_nothing_left()
