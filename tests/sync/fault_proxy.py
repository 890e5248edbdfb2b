"""A TCP proxy on loopback in front of an upstream registry, recording and breaking traffic on cue.

Adapted from ``tests/cli/tcp_proxy.py`` for the reply direction: ``cut_once_after(n)`` makes the
first connection whose replies pass ``n`` bytes deliver exactly ``n`` and then close (both ways), the
way a network drops a download midway. Works for TLS too (the cut falls in the middle of a record).
``requests_text()`` is everything clients sent (readable for plain HTTP); ``reply_bytes`` counts what
the upstream answered and reached the client.
"""

from __future__ import annotations

import socket
import threading


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.requests = bytearray()
        self.reply_bytes = 0
        self.connections = 0
        self.cuts = 0
        self._cut_after: int | None = None
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut_once_after(self, count: int) -> None:
        with self.lock:
            self._cut_after, self.cuts = count, 0

    def requests_text(self) -> str:
        with self.lock:
            return self.requests.decode("latin-1")

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        for sock in list(self._sockets):
            _close(sock)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
            with self.lock:
                self.connections += 1
            self._sockets += [client, upstream]
            threading.Thread(target=self._forward_requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._forward_replies, args=(upstream, client), daemon=True).start()

    def _forward_requests(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                with self.lock:
                    self.requests += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)

    def _forward_replies(self, src: socket.socket, dst: socket.socket) -> None:
        passed = 0
        try:
            while data := src.recv(65536):
                with self.lock:
                    cut = (self._cut_after is not None and self.cuts == 0
                           and passed + len(data) > self._cut_after)
                    if cut:
                        self.cuts += 1
                        data = data[: self._cut_after - passed]
                    self.reply_bytes += len(data)
                dst.sendall(data)
                passed += len(data)
                if cut:
                    break
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
