"""Tarball bombs and parser differentials sent to the real server: refused, memory bounded, nothing left.

The bombs are those of tests/common/test_bounded_archives.py, uploaded through the REST API into a
server of their own. While each import runs, the RSS of the server's whole process tree (``run``
with its in-process worker and API, and the database) is sampled; its rise must stay small. While
the pax cases run, ``status/`` must keep answering (the pax parser of Python 3.11.7 holds the GIL).
A refused import leaves no staged file, no content file and no unit.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import tarfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest
import requests
from leftovers import staging_leftovers
from tarballs import DATA
from test_import_upload import assert_finished, content_files, counts, new_repo

from pulp_docker.plugins.importers.image_upload import tar_limits
from pulp_platform.config import Settings

sys.path.insert(0, str(Path(__file__).parent.parent / "common"))  # the bombs are built with the walker's tests
from test_bounded_archives import WRITERS, MiB, big_window, bomb, many_members, then_a_file, zero_member  # noqa: E402

# The import of a bomb may cost the server this much more memory than it held before it started.
MEMORY_CEILING = 100 * MiB
# The floor is set (not left at its default) so that the messages prove the setting reached the worker.
FLOOR = 32 * MiB
STATUS_WITHIN = 2.0  # seconds: availability, not a benchmark
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def server(start_pulp_server):
    return start_pulp_server(upload_expansion_floor=FLOOR)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


class TreeMemory(threading.Thread):
    """Samples the summed RSS of a process and its descendants every 20 ms; ``rise`` over the first sample."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.stopped = threading.Event()
        self.start_rss = self.peak = self.sample()

    def sample(self) -> int:
        total = 0
        for process in [self.root, *self.root.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            self.peak = max(self.peak, self.sample())

    @property
    def rise(self) -> int:
        return self.peak - self.start_rss


class StatusProbe(threading.Thread):
    """GETs ``status/`` back to back until stopped, keeping the slowest answer's time."""

    def __init__(self, server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.stopped = threading.Event()
        self.slowest = 0.0
        self.answers = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            began = time.monotonic()
            try:
                reply = requests.get(self.server.api_url("status/"), timeout=60)
                assert reply.status_code == 200
            finally:
                self.slowest = max(self.slowest, time.monotonic() - began)
            self.answers += 1
            time.sleep(0.05)


def import_measured(server, repo_id: str, path: Path,
                    probe_status: bool = False) -> tuple[dict, TreeMemory, StatusProbe]:
    """Upload ``path``, then import it while the server's memory (and ``status/``) are watched."""
    upload_id = server.upload_file(path)
    memory, probe = TreeMemory(server.process.pid), StatusProbe(server)
    memory.start()
    if probe_status:
        probe.start()
    try:
        task = server.import_upload(repo_id, upload_id, "docker_manifest", {}, {}, timeout=300)
        time.sleep(0.1)  # one more sample of each after the task ended
    finally:
        memory.stopped.set()
        probe.stopped.set()
        server.api("DELETE", f"content/uploads/{upload_id}/")
    memory.join()
    if probe_status:
        probe.join()
    return task, memory, probe


def assert_refused_leaving_nothing(server, path: Path, code: str, *words: str, probe_status: bool = False) -> None:
    repo_id = new_repo(server)
    files_before = content_files(server)
    task, memory, probe = import_measured(server, repo_id, path, probe_status)
    assert task["state"] == "error", task
    assert task["error"]["code"] == code, task["error"]
    for word in words:
        assert word in task["error"]["description"], task["error"]["description"]
    assert memory.rise < MEMORY_CEILING, f"the server's RSS rose by {memory.rise / MiB:.0f} MiB"
    if probe_status:
        assert probe.answers, "status/ was never asked"
        assert probe.slowest < STATUS_WITHIN, f"status/ took {probe.slowest:.1f} s to answer during the import"
    assert counts(server, repo_id) == {}
    assert content_files(server) == files_before
    assert not staging_leftovers(server)


# -- bombs -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec", sorted(WRITERS))
def test_a_huge_member_of_zeros_is_refused(server, bombs, codec: str) -> None:
    path = bomb(bombs / f"zeros.tar.{codec}", codec, zero_member(512 * MiB))
    assert_refused_leaving_nothing(server, path, "DKR1045", "536870912", f"at least {FLOOR}")


def test_many_2_mib_members_are_refused(server, bombs) -> None:
    path = bomb(bombs / "many.tar.gz", "gzip", many_members(1100, 2 * MiB))
    cap = max(FLOOR, 20 * path.stat().st_size)
    assert_refused_leaving_nothing(server, path, "DKR1045", f"more than {cap} bytes", "upload_expansion_ratio")


def test_too_many_members_are_refused(server, bombs) -> None:
    path = bomb(bombs / "count.tar.gz", "gzip", many_members(20_000, 0))
    assert_refused_leaving_nothing(server, path, "DKR1045", "more than 10000 members")


def test_a_huge_pax_header_is_refused(server, bombs) -> None:
    path = bomb(bombs / "pax.tar.gz", "gzip", then_a_file(tarfile.XHDTYPE, 512 * MiB))
    assert_refused_leaving_nothing(server, path, "DKR1045", "pax header of 536870912 bytes", probe_status=True)


@pytest.mark.parametrize("codec", [None, "gzip"])
def test_pax_digits_are_refused_while_the_server_keeps_answering(server, bombs, codec: str | None) -> None:
    path = bomb(bombs / f"digits.tar.{codec}", codec, then_a_file(tarfile.XHDTYPE, b"1" * 128 * 1024))
    assert_refused_leaving_nothing(server, path, "DKR1045", "pax header of 131072 bytes", probe_status=True)


def test_a_huge_gnu_long_name_is_refused(server, bombs) -> None:
    path = bomb(bombs / "longname.tar.gz", "gzip", then_a_file(tarfile.GNUTYPE_LONGNAME, 512 * MiB))
    assert_refused_leaving_nothing(server, path, "DKR1045", "GNU long-name header")


@pytest.mark.parametrize("codec", ["xz", "zstd"])
def test_a_decompressor_asking_for_a_huge_window_is_refused(server, bombs, codec: str) -> None:
    assert_refused_leaving_nothing(server, big_window(bombs / f"window.tar.{codec}", codec), "DKR1045", "memory")


def test_an_image_within_the_limits_still_imports(server, tmp_path) -> None:
    path = tmp_path / "image.tar.gz"
    path.write_bytes(gzip.compress((DATA / "skopeo-v2s2.tar").read_bytes()))
    task, memory, _ = import_measured(server, new_repo(server), path)
    assert assert_finished(task)["summary"]["blobs_imported"]
    assert memory.rise < MEMORY_CEILING


def test_the_upload_settings_become_the_walks_limits() -> None:
    settings = Settings(upload_expansion_ratio=3.5, upload_expansion_floor=7, upload_max_members=11,
                        upload_max_extended_header=13, upload_max_extended_total=17)
    limits = tar_limits(settings)
    assert (limits.expansion_ratio, limits.expansion_floor, limits.max_members, limits.max_extended_header,
            limits.max_extended_total) == (3.5, 7, 11, 13, 17)


# -- parser differentials through the registry API (the push path parses with the same parser) --------------

def _push_blob(server, name: str, data: bytes) -> str:
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    reply = requests.post(f"{server.url}/v2/{name}/blobs/uploads/", params={"digest": digest}, data=data,
                          auth=server.auth, timeout=30)
    assert reply.status_code == 201, reply.text
    return digest


def _put(server, name: str, reference: str, data: bytes) -> requests.Response:
    return requests.put(f"{server.url}/v2/{name}/manifests/{reference}", data=data, auth=server.auth, timeout=60,
                        headers={"Content-Type": OCI_MANIFEST})


def test_a_pushed_manifest_with_a_float_size_or_a_newline_tag_is_refused(server) -> None:
    name = f"hostile/{uuid.uuid4().hex[:8]}"
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                         "label": name}).encode()
    layer = b"layer " + name.encode()
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(config),
                      "digest": _push_blob(server, name, config)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": len(layer),
                       "digest": _push_blob(server, name, layer)}]}
    good = json.dumps(doc).encode()
    floated = good.replace(f'"size": {len(layer)}'.encode(), f'"size": {len(layer)}.0'.encode())
    refused = _put(server, name, "float", floated)
    assert refused.status_code == 400, refused.text
    assert [e["code"] for e in refused.json()["errors"]] == ["MANIFEST_INVALID"]
    assert "DKR1034" in refused.text and "layers/0/size" in refused.text
    for bad in (b"\xef\xbb\xbf" + good, good.replace(b'"schemaVersion": 2', b'"schemaVersion": 2.0')):
        assert _put(server, name, "bad", bad).status_code == 400
    newline = _put(server, name, "1.0%0A", good)
    assert newline.status_code == 400 and [e["code"] for e in newline.json()["errors"]] == ["TAG_INVALID"]
    assert _put(server, name, "1.0", good).status_code == 201
    tags = requests.get(f"{server.url}/v2/{name}/tags/list", auth=server.auth, timeout=30).json()["tags"]
    assert tags == ["1.0"]
