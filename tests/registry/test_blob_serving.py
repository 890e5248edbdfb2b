"""Blob GETs as the server sends them: a whole blob through the API's ``http.response.pathsend``, which
``pulp-server``'s protocol copies from the page cache into the socket from its event loop.

The registry tests elsewhere check the small fixture blobs; these push blobs of tens of MiB (larger
than the socket buffers, so the send waits on the client many times), and pin down what the zero-copy
path must keep: whole bodies byte for byte, HEAD, Range, keep-alive after a body, clients that go
away, protected names. The last tests run ``pulp-server``'s protocol under uvicorn with a two-route
app, to see that it offers the extension, keeps pipelined responses in order, reads a file that is
not in the page cache, and takes a client's reset quietly.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from pulp_platform.webapi.pathsend import pathsend_protocol as _pathsend_protocol

AUTH = ("admin", "admin")
BIG = 40 * 1024 * 1024 + 12345  # not a multiple of any chunk or buffer size
PIECE = 1024 * 1024


def _random_file(path: Path, size: int) -> str:
    """Write ``size`` pseudo-random bytes to ``path`` piece by piece; returns their sha256 digest."""
    sha = hashlib.sha256()
    with open(path, "wb") as handle:
        for offset in range(0, size, PIECE):
            piece = os.urandom(min(PIECE, size - offset))
            sha.update(piece)
            handle.write(piece)
    return f"sha256:{sha.hexdigest()}"


def _file_hash(path: Path, start: int = 0, end: int | None = None) -> str:
    """sha256 hex of ``path``'s bytes ``[start, end)``."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        handle.seek(start)
        left = (end if end is not None else path.stat().st_size) - start
        while left > 0:
            piece = handle.read(min(PIECE, left))
            sha.update(piece)
            left -= len(piece)
    return sha.hexdigest()


def _streamed_hash(response: requests.Response) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    for piece in response.iter_content(PIECE):
        sha.update(piece)
        size += len(piece)
    return sha.hexdigest(), size


class Blob:
    """A blob pushed under ``name``, its bytes kept in ``path`` to compare with."""

    def __init__(self, server, name: str, path: Path, digest: str) -> None:
        self.server, self.name, self.path, self.digest = server, name, path, digest

    @property
    def url(self) -> str:
        return f"{self.server.url}/v2/{self.name}/blobs/{self.digest}"

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def _push(server, name: str, path: Path, digest: str) -> Blob:
    with open(path, "rb") as body:  # requests streams a file body
        reply = requests.post(f"{server.url}/v2/{name}/blobs/uploads/", params={"digest": digest}, data=body,
                              auth=AUTH, timeout=120, headers={"Content-Type": "application/octet-stream"})
    assert reply.status_code == 201, reply.text
    return Blob(server, name, path, digest)


@pytest.fixture(scope="module")
def big_blob(pulp_server, tmp_path_factory) -> Blob:
    path = tmp_path_factory.mktemp("blob-serving") / "big"
    return _push(pulp_server, f"blobserve/{uuid.uuid4().hex[:8]}", path, _random_file(path, BIG))


def test_a_large_blob_comes_back_byte_for_byte_also_to_clients_at_once(big_blob):
    def fetch(_: int) -> tuple[int, dict, str, int]:
        with requests.get(big_blob.url, stream=True, timeout=120) as response:
            return response.status_code, response.headers, *_streamed_hash(response)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(fetch, range(4)))
    expected = _file_hash(big_blob.path)
    for status, headers, digest, size in results:
        assert status == 200
        assert (digest, size) == (expected, BIG)
        assert int(headers["Content-Length"]) == BIG
        assert headers["Docker-Content-Digest"] == big_blob.digest
        assert headers["Content-Type"] == "application/octet-stream"


def test_head_then_bodies_on_one_kept_alive_connection(big_blob, pulp_server):
    host, port = pulp_server.url.split("://", 1)[1].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    path = big_blob.url.split(str(port), 1)[1]
    try:
        connection.request("HEAD", path)
        head = connection.getresponse()
        assert head.status == 200 and head.read() == b""
        assert int(head.getheader("Content-Length")) == BIG
        assert head.getheader("Docker-Content-Digest") == big_blob.digest
        sock = connection.sock
        for _ in range(2):  # a whole body, then another on the same connection
            connection.request("GET", path)
            whole = connection.getresponse()
            sha = hashlib.sha256()
            while piece := whole.read(PIECE):
                sha.update(piece)
            assert whole.status == 200 and sha.hexdigest() == _file_hash(big_blob.path)
        connection.request("GET", path, headers={"Range": "bytes=7-106"})
        part = connection.getresponse()
        assert part.status == 206 and hashlib.sha256(part.read()).hexdigest() == _file_hash(big_blob.path, 7, 107)
        connection.request("GET", "/v2/")
        assert connection.getresponse().status == 401
        assert connection.sock is sock, "the server closed the connection after a blob"
    finally:
        connection.close()


@pytest.mark.parametrize("range_header, start, end", [
    ("bytes=3000000-33000000", 3000000, 33000001),
    (f"bytes={BIG - 5_000_000}-", BIG - 5_000_000, BIG),
    ("bytes=-1234567", BIG - 1234567, BIG),
])
def test_ranges_of_a_large_blob(big_blob, range_header, start, end):
    with requests.get(big_blob.url, headers={"Range": range_header}, stream=True, timeout=120) as part:
        assert part.status_code == 206
        assert part.headers["Content-Range"] == f"bytes {start}-{end - 1}/{BIG}"
        assert _streamed_hash(part) == (_file_hash(big_blob.path, start, end), end - start)


def test_a_stale_if_range_gets_the_whole_blob_and_past_the_end_is_416(big_blob):
    headers = {"Range": "bytes=100-", "If-Range": '"sha256:0000"'}
    with requests.get(big_blob.url, headers=headers, stream=True, timeout=120) as whole:
        assert whole.status_code == 200
        assert _streamed_hash(whole) == (_file_hash(big_blob.path), BIG)
    past = requests.get(big_blob.url, headers={"Range": f"bytes={BIG}-"}, timeout=60)
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{BIG}"


def test_clients_that_go_away_mid_blob_leave_the_server_serving(big_blob, pulp_server):
    log_start = pulp_server.log_path.stat().st_size
    host, port = pulp_server.url.split("://", 1)[1].rsplit(":", 1)
    path = big_blob.url.split(str(port), 1)[1]
    for _ in range(3):
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            got = 0
            while got < 3 * PIECE:
                got += len(sock.recv(PIECE))
            # An RST instead of a FIN: the server's next sendfile fails at once.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with requests.get(big_blob.url, stream=True, timeout=120) as whole:
        assert _streamed_hash(whole) == (_file_hash(big_blob.path), BIG)
    with open(pulp_server.log_path, "rb") as log:
        log.seek(log_start)
        written = log.read().decode(errors="replace")
    assert "Exception in ASGI application" not in written and "Traceback" not in written, written


def test_a_protected_blob_needs_credentials(pulp_server, tmp_path):
    registry_id = f"blobserve-private/{uuid.uuid4().hex[:8]}"
    repo_id = registry_id.replace("/", "-")
    pulp_server.create_repo(repo_id, distributors=[{
        "distributor_id": "docker_web_distributor_name_cli", "distributor_type_id": "docker_distributor_web",
        "distributor_config": {"repo-registry-id": registry_id, "protected": True}, "auto_publish": True}])
    path = tmp_path / "private"
    blob = _push(pulp_server, registry_id, path, _random_file(path, 3 * PIECE + 1))
    anonymous = requests.get(blob.url, timeout=60)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer ")
    assert anonymous.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert requests.get(blob.url, auth=("admin", "wrong"), timeout=60).status_code == 401
    with requests.get(blob.url, auth=AUTH, stream=True, timeout=60) as signed_in:
        assert signed_in.status_code == 200
        assert _streamed_hash(signed_in) == (_file_hash(path), blob.size)


# -- the protocol itself, under a two-route app: what pulp-server's API runs on -------------------------

QUEUED = 8 * 1024 * 1024  # far more than the socket buffers hold: uvloop keeps the rest


@pytest.fixture(scope="module")
def pathsend_server(tmp_path_factory) -> Iterator[tuple[str, int, Path, bytes, list]]:
    """uvicorn with ``pulp-server``'s protocol: ``/queued`` answers QUEUED bytes in one body message,
    ``/file`` the file by ``http.response.pathsend``; ``seen`` collects each request's ``extensions``."""
    import uvicorn

    path = tmp_path_factory.mktemp("pathsend") / "file"
    _random_file(path, BIG)
    queued = os.urandom(QUEUED)
    seen: list = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        seen.append(scope.get("extensions", {}))
        if scope["path"] == "/queued":
            headers = [(b"content-length", b"%d" % QUEUED)]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": queued})
            return
        headers = [(b"content-length", b"%d" % BIG)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": str(path)})

    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, lifespan="off", http=_pathsend_protocol())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
            assert thread.is_alive()
        yield "127.0.0.1", sock.getsockname()[1], path, queued, seen
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def _read_response(stream) -> tuple[int, bytes]:
    status = int(stream.readline().split()[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, stream.read(length)


def test_the_protocol_offers_pathsend_and_sends_a_file_behind_queued_bytes(pathsend_server):
    host, port, path, queued, seen = pathsend_server
    with socket.create_connection((host, port), timeout=60) as sock:
        # Pipelined, and nothing read until both are answered: when the file's turn comes, most of the
        # first body still waits in uvloop's buffer, and must reach the client before the file does.
        sock.sendall(b"GET /queued HTTP/1.1\r\nHost: x\r\n\r\nGET /file HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.5)
        stream = sock.makefile("rb")
        assert _read_response(stream) == (200, queued)
        status, body = _read_response(stream)
        assert status == 200 and hashlib.sha256(body).hexdigest() == _file_hash(path)
        sock.sendall(b"HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n")  # the connection is still usable
        assert stream.readline().startswith(b"HTTP/1.1 200")
    assert all("http.response.pathsend" in extensions for extensions in seen)


def test_a_client_reset_mid_file_is_no_application_error(pathsend_server, caplog):
    host, port, path, _, _ = pathsend_server
    for _ in range(3):
        with socket.create_connection((host, port), timeout=60) as sock:
            sock.sendall(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
            got = 0
            while got < 3 * PIECE:
                got += len(sock.recv(PIECE))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with socket.create_connection((host, port), timeout=60) as sock:  # the server is still there
        sock.sendall(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
        status, body = _read_response(sock.makefile("rb"))
        assert status == 200 and hashlib.sha256(body).hexdigest() == _file_hash(path)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= 40]
    assert not errors, errors


def test_a_file_not_in_the_page_cache_is_read_all_the_same(pathsend_server):
    host, port, path, _, _ = pathsend_server
    with open(path, "rb+") as handle:  # written pages must be clean before they can be dropped
        os.fsync(handle.fileno())
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
        status, body = _read_response(sock.makefile("rb"))
    assert status == 200 and hashlib.sha256(body).hexdigest() == _file_hash(path)
