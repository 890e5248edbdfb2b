"""The database connection, and the embedded SecantusDB server used when no MongoDB is configured.

Only plain pymongo/mongoengine is used, so a real MongoDB (or a replica set) works unchanged. There are
no multi-document transactions: writers order their steps so that a failure at any point leaves
nothing visible (content files before units, units before associations, associations last).
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

import mongoengine
import pymongo

from pulp_platform.config import Settings

log = logging.getLogger(__name__)
DB_NAME = "pulp_database"


def connect(uri: str) -> None:
    """Connect mongoengine's default alias (lazily, so forked workers each open their own sockets)."""
    mongoengine.disconnect()
    mongoengine.connect(host=uri, db=_db_name(uri), connect=False, tz_aware=True, uuidRepresentation="standard")


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
        return f"mongodb://127.0.0.1:{self.port}/{DB_NAME}?directConnection=true"

    def start(self, timeout: float = 30.0) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).with_name("secantusd-py")
        command = [str(exe) if exe.exists() else "secantusd-py", "--host", "127.0.0.1",
                   "--port", str(self.port), "--storage-path", str(self.path), "--log-level", "WARNING",
                   "--cache-size", self.cache_size]
        with open(self.log_path, "ab") as out:
            # Its own session, so a terminal's Ctrl-C does not stop it before the workers using it.
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
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
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
