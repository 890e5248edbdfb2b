"""A TCP proxy on loopback that counts what clients send and can drop or stall the traffic on cue.

It stands between ``pulp-admin`` and the server to measure the bytes an upload really puts on the wire,
and to break a transfer part way the way a network does: ``cut_after(n)`` closes the connection
once ``n`` more request bytes have passed; ``stall_after(n)`` stops forwarding them (the client
blocks, as on a dead link) until ``release()``.

``RecordingProxy`` is an HTTP proxy instead: it forwards each request to the server and keeps what the
client sent (method, path, JSON body), so a test reads the request bodies pulp-admin really made.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


class CountingProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.sent = 0  # client -> server bytes since the last reset()
        self._budget: int | None = None
        self._mode = "cut"
        self.tripped = threading.Event()
        self._released = threading.Event()
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        """Count from zero, forwarding everything."""
        with self.lock:
            self.sent = 0
            self._budget = None
            self.tripped.clear()

    def cut_after(self, count: int) -> None:
        with self.lock:
            self._budget, self._mode = count, "cut"
            self.tripped.clear()

    def stall_after(self, count: int) -> None:
        with self.lock:
            self._budget, self._mode = count, "stall"
            self.tripped.clear()
            self._released.clear()

    def release(self) -> None:
        """End a stall: the stalled connections are closed, new ones pass freely."""
        self.reset()
        self._released.set()

    def close(self) -> None:
        self._closed = True
        self._released.set()
        self.listener.close()
        for sock in list(self._sockets):
            _close(sock)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            self._sockets += [client, upstream]
            threading.Thread(target=self._forward_requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._forward_replies, args=(upstream, client), daemon=True).start()

    def _allowance(self, wanted: int) -> tuple[int, str | None]:
        """How many of ``wanted`` bytes may pass now, and what to do after them."""
        with self.lock:
            if self._budget is None:
                self.sent += wanted
                return wanted, None
            allowed = min(wanted, self._budget)
            self._budget -= allowed
            self.sent += allowed
            if self._budget == 0:
                self.tripped.set()
                return allowed, self._mode
            return allowed, None

    def _forward_requests(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                allowed, action = self._allowance(len(data))
                dst.sendall(data[:allowed])
                if action == "cut":
                    break
                if action == "stall":
                    self._released.wait()
                    break
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)

    def _forward_replies(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class RecordingProxy:
    """Forwards HTTP requests to ``target`` (``http://host:port``) and records them in ``requests``."""

    def __init__(self, target: str) -> None:
        self.requests: list[tuple[str, str, Any]] = []  # (method, path, JSON body or None)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None  # upload chunks
                proxy.requests.append((self.command, self.path, parsed))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                reply = requests.request(self.command, target + self.path, data=body, headers=headers, timeout=120)
                self.send_response(reply.status_code)
                for key, value in reply.headers.items():
                    if key.lower() not in ("transfer-encoding", "content-length", "connection", "content-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, method: str, path_end: str) -> list[Any]:
        """The JSON bodies of the recorded requests with this method whose path ends with ``path_end``."""
        return [body for m, path, body in self.requests if m == method and path.split("?")[0].endswith(path_end)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
