"""``http.response.pathsend`` for uvicorn: a whole file body copied into the socket from the event loop.

Our own code: uvicorn has no ``http.response.pathsend``, and Starlette's fallback (1 MiB chunks read in
a thread, then copied again by uvloop) is slow. Copying 512 KiB pieces from the page cache into the
socket from the event loop beat that, sendfile(2) (the client pays its copy: skopeo pulls 13% slower)
and granian on loopback; see docs/performance.md, "blob GET". It relies on uvicorn's httptools
protocol (``on_headers_complete`` and the request cycle's attributes); tests/registry/test_blob_serving.py
holds it to that.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any


def pathsend_protocol() -> type:
    """uvicorn's httptools protocol offering ``http.response.pathsend``, sent from the event loop."""
    from functools import partial

    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class PathsendProtocol(HttpToolsProtocol):
        def on_headers_complete(self) -> None:
            before = self.cycle
            super().on_headers_complete()
            if self.cycle is not before:  # a request, not a websocket upgrade
                self.cycle.scope.setdefault("extensions", {})["http.response.pathsend"] = {}
                self.cycle.send = partial(_send_pathsend, self.cycle, self.cycle.send)

    return PathsendProtocol


async def _send_pathsend(cycle: Any, send: Callable, message: dict) -> None:
    """uvicorn's ``send`` for one request, plus ``http.response.pathsend``: the file as the whole body."""
    import asyncio

    if message["type"] != "http.response.pathsend" or cycle.disconnected:
        return await send(message)
    transport = cycle.transport
    if cycle.chunked_encoding or not cycle.response_started:
        raise RuntimeError("http.response.pathsend needs a started response with a Content-Length")
    # Bytes uvloop still holds (an earlier response the client has not read yet) must go first.
    while transport.get_write_buffer_size() and not transport.is_closing():
        await asyncio.sleep(0.01)
    count = 0 if cycle.scope["method"] == "HEAD" else cycle.expected_content_length
    with open(message["path"], "rb") as file:
        try:
            if transport.is_closing():
                raise ConnectionResetError
            cycle.expected_content_length -= await _copy_file(transport, file.fileno(), count)
        except ConnectionError:  # the client went away: what uvicorn does on a lost connection
            cycle.disconnected = True
            transport.close()
            return
    await send({"type": "http.response.body", "body": b"", "more_body": False})


PATHSEND_PIECE = 512 * 1024  # bytes per read and write (256 KiB to 1 MiB measured alike)


async def _copy_file(transport: Any, file_fd: int, count: int) -> int:
    """The first ``count`` bytes of the file into the transport's socket, piece by piece."""
    import asyncio

    loop = asyncio.get_running_loop()
    # A duplicate: if the connection is closed meanwhile, its fd number may be given to another socket.
    fd = os.dup(transport.get_extra_info("socket").fileno())
    buffer = memoryview(bytearray(min(PATHSEND_PIECE, count)))
    sent = 0
    try:
        while sent < count:
            piece = buffer[:count - sent]
            got = await _read(loop, file_fd, piece, sent)
            if got == 0:
                raise RuntimeError(f"the file is shorter than its Content-Length ({count})")
            written = 0
            while written < got:
                try:
                    written += os.write(fd, piece[written:got])
                except BlockingIOError:  # the socket buffer is full: wait until the client has read some
                    await _writable(loop, fd)
            sent += got
            await asyncio.sleep(0)  # the other connections' turn
    finally:
        os.close(fd)
    return sent


async def _read(loop: Any, fd: int, piece: memoryview, offset: int) -> int:
    """Read into ``piece`` from the page cache in the loop; what is not cached, in a thread (disk waits)."""
    try:
        return os.preadv(fd, [piece], offset, os.RWF_NOWAIT)
    except BlockingIOError:  # not in the page cache
        pass
    except OSError as exc:
        import errno

        if exc.errno != errno.EOPNOTSUPP:  # a file system that cannot say
            raise
    return await loop.run_in_executor(None, os.preadv, fd, [piece], offset)


async def _writable(loop: Any, fd: int) -> None:
    writable = loop.create_future()
    loop.add_writer(fd, lambda: writable.done() or writable.set_result(None))
    try:
        await writable
    finally:
        loop.remove_writer(fd)
