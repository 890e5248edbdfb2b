"""The database connection, and the embedded SecantusDB server used when no MongoDB is configured.

Only plain pymongo/mongoengine is used, so a real MongoDB (or a replica set) works unchanged. There are
no multi-document transactions: writers order their steps so that a failure at any point leaves
nothing visible (content files before units, units before associations, associations last).

Every write is journaled (``w=1, j=True``; ``w="majority"`` on a replica set), set once on the
connection, so an acknowledged write survives a kill of the database process: what a client was told
(a task ``finished``, a tag moved) is on disk. See docs/reliability.md for the cost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import mongoengine
import pymongo

from pulp_platform import malloc_arenas
from pulp_platform.config import Settings

log = logging.getLogger(__name__)
DB_NAME = "pulp_database"


def connect(uri: str) -> None:
    """Connect mongoengine's default alias (lazily, so forked workers each open their own sockets)."""
    mongoengine.disconnect()
    mongoengine.connect(host=uri, db=_db_name(uri), connect=False, tz_aware=True, uuidRepresentation="standard",
                        **write_concern(uri))


def write_concern(uri: str) -> dict[str, Any]:
    """The client options that make every write durable once acknowledged.

    A replica set acknowledges with ``w="majority"`` (journaled on a majority by default), anything else
    with ``w=1, j=True``: without the journal flag the last tens of milliseconds of acknowledged writes
    are lost when the database process is killed. A ``w`` named in the URI is kept (a sharded cluster
    may want ``majority`` too); ``w=0`` is refused, since nothing a client is told could be trusted.
    """
    options = {k.lower(): v for k, v in pymongo.uri_parser.parse_uri(uri)["options"].items()}
    w = options.get("w")
    if w in (0, "0"):
        raise ValueError("the MongoDB URI asks for w=0 (unacknowledged writes); Pulp needs acknowledged writes")
    if w is None:
        w = "majority" if options.get("replicaset") else 1
    if w == "majority":
        return {"w": w}
    return {"w": w, "journal": True}


def _db_name(uri: str) -> str:
    parsed = pymongo.uri_parser.parse_uri(uri)
    return parsed.get("database") or DB_NAME


def database() -> pymongo.database.Database:
    return mongoengine.get_db()


def ping(uri: str, timeout: float = 2.0) -> bool:
    try:
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=int(timeout * 1000))
        try:
            client.admin.command("ping")
        finally:
            client.close()
        return True
    except pymongo.errors.PyMongoError:
        return False


def ensure_indexes(models: list[type]) -> None:
    """Create each model's declared indexes (idempotent; run at start-up)."""
    for model in models:
        model.ensure_indexes()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EmbeddedDatabase:
    """A SecantusDB server (MongoDB wire protocol, WiredTiger storage) in ``<data_dir>/db``."""

    def __init__(self, settings: Settings) -> None:
        self.cache_size = settings.embedded_db_cache
        self.path = settings.data_dir / "db"
        self.log_path = settings.data_dir / "log" / "db.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        # One local node has no topology to follow: pymongo's monitor asks ``hello`` every 10 s
        # (``poll``) instead of holding a streamed ``hello`` open, which its server wakes for four times a
        # second (0.06 % of a core, of the idle tree's 0.43 %).
        return f"mongodb://127.0.0.1:{self.port}/{DB_NAME}?directConnection=true&serverMonitoringMode=poll"

    @property
    def pid_file(self) -> Path:
        return self.path.parent / "run" / "db.pid"

    def start(self, timeout: float = 30.0) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # A killed `pulp-server run` leaves its database running (it has a session of its own): stop it,
        # or WiredTiger refuses to open the files it still holds ("resource busy").
        self._stop_predecessor()
        exe = Path(sys.executable).with_name("secantusd-py")
        command = [str(exe) if exe.exists() else "secantusd-py", "--host", "127.0.0.1",
                   "--port", str(self.port), "--storage-path", str(self.path), "--log-level", "WARNING",
                   "--cache-size", self.cache_size]
        with open(self.log_path, "ab") as out:
            # Its own session, so a terminal's Ctrl-C does not stop it before the workers using it.
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                            env=malloc_arenas.child_environ(os.environ))
        self._write_pid_file(self.process.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the embedded database exited; see {self.log_path}")
            if ping(self.uri, timeout=0.5):
                log.info("embedded database (SecantusDB) on 127.0.0.1:%d, files in %s", self.port, self.path)
                return self.uri
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the embedded database did not answer within {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            # Its stop waits up to 2 s for its accept loop to see the stop flag, which only a new
            # connection makes it look at: one, closed at once, ends that wait.
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                pass
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self._remove_pid_file(self.process.pid)

    # -- a predecessor left running ------------------------------------------------------------
    def _write_pid_file(self, pid: int) -> None:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": pid, "port": self.port, "storage_path": str(self.path)}))
        tmp.replace(self.pid_file)

    def _remove_pid_file(self, pid: int) -> None:
        try:
            if json.loads(self.pid_file.read_text()).get("pid") == pid:
                self.pid_file.unlink()
        except (OSError, ValueError):
            pass

    def _stop_predecessor(self, timeout: float = 30.0) -> None:
        """Stop a database process still serving our files (named by the pid file, else found in /proc)."""
        pids = [pid for pid in self._predecessor_pids() if self._serves_our_files(pid)]
        for pid in pids:
            log.warning("an embedded database (pid %d) left by an earlier run still holds %s; stopping it",
                        pid, self.path)
            _signal(pid, signal.SIGTERM)  # a clean WiredTiger shutdown: checkpoint, close the journal
        deadline = time.monotonic() + timeout
        for pid in pids:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                log.warning("the earlier embedded database (pid %d) did not stop; killing it", pid)
                _signal(pid, signal.SIGKILL)
                while _alive(pid):
                    time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)

    def _predecessor_pids(self) -> list[int]:
        try:
            return [int(json.loads(self.pid_file.read_text())["pid"])]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        # No pid file (an older version, or it was removed): look for a database on our storage path.
        return [int(entry.name) for entry in Path("/proc").glob("[0-9]*")]

    def _serves_our_files(self, pid: int) -> bool:
        """The process is a SecantusDB whose ``--storage-path`` is ours (checked before any signal)."""
        if pid == os.getpid():
            return False
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            return False
        if not any(Path(arg).name.startswith("secantusd") for arg in args[:2]):
            return False
        try:
            where = args[args.index("--storage-path") + 1]
        except (ValueError, IndexError):
            return False
        return Path(where).resolve() == self.path.resolve()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own child that exited) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
