"""The embedded broker: a kombu transport over the stdlib's ``sqlite3``, in kombu's SQL transport's tables.

kombu's own SQL transport goes through SQLAlchemy's ORM: about 20 MB in every process that sends or
consumes (the API and each worker) and a millisecond or two of Python per poll. This is the same
broker in a hundred lines of plain SQL: the same file (``<data dir>/celery/broker.sqlite``), the same
tables and columns (``kombu_queue``, ``kombu_message``), so a broker file written before keeps its
messages, and the same semantics: a message is taken in an ``IMMEDIATE`` transaction (one consumer
gets it), marked delivered (``visible = 0``, pruned later by ``celery_app.prune_sqlite_broker``), and
kombu's virtual channel keeps it as unacknowledged until the task is done (``task_acks_late``),
putting it back if the consumer goes away first.

The poll sleeps on ``broker_wake``: a send or an ack in this process wakes its consumer at once.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from queue import Empty
from typing import Any

from kombu.transport import virtual
from kombu.utils.json import dumps, loads

from pulp_platform.tasking import broker_wake

TRANSPORT_PATH = f"{__name__}:Transport"
BUSY_TIMEOUT = 30.0  # seconds a statement waits for another process's transaction on the file

# kombu_queue and kombu_message as kombu's SQL transport (SQLAlchemy's DDL for SQLite) creates them.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS kombu_queue (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(200),
    UNIQUE (name)
);
CREATE TABLE IF NOT EXISTS kombu_message (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    visible BOOLEAN,
    timestamp DATETIME,
    payload TEXT NOT NULL,
    version SMALLINT NOT NULL,
    queue_id INTEGER,
    CONSTRAINT "FK_kombu_message_queue" FOREIGN KEY(queue_id) REFERENCES kombu_queue (id)
);
CREATE INDEX IF NOT EXISTS ix_kombu_message_timestamp_id ON kombu_message (timestamp, id);
CREATE INDEX IF NOT EXISTS ix_kombu_message_visible ON kombu_message (visible);
CREATE INDEX IF NOT EXISTS ix_kombu_message_timestamp ON kombu_message (timestamp);
"""


def database_path(url: str) -> str:
    """The file of a ``sqlite:///<path>`` (or ``sqla+sqlite:///<path>``) URL."""
    rest = url.split("sqlite:", 1)[1]
    if not rest.startswith("///"):
        raise ValueError(f"not a sqlite:///<path> URL: {url!r}")
    return rest[3:]


class Channel(broker_wake.WakingChannel, virtual.Channel):
    """One connection to the broker file; its statements run one at a time (kombu may share a channel
    between threads)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._queue_ids: dict[str, int] = {}
        self._db = sqlite3.connect(database_path(self.connection.client.hostname), timeout=BUSY_TIMEOUT,
                                   isolation_level=None, check_same_thread=False)
        with self._lock:
            self._db.executescript(_SCHEMA)

    def _queue_id(self, queue: str) -> int:
        known = self._queue_ids.get(queue)
        if known is None:
            self._db.execute("INSERT OR IGNORE INTO kombu_queue (name) VALUES (?)", (queue,))
            known = self._queue_ids[queue] = self._db.execute(
                "SELECT id FROM kombu_queue WHERE name = ?", (queue,)).fetchone()[0]
        return known

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        with self._lock:
            self._queue_id(queue)

    def _put(self, queue: str, message: dict, **kwargs: Any) -> None:
        with self._lock:
            self._db.execute("INSERT INTO kombu_message (visible, timestamp, payload, version, queue_id) "
                             "VALUES (1, ?, ?, 1, ?)",
                             (datetime.now().isoformat(sep=" "), dumps(message), self._queue_id(queue)))

    def _get(self, queue: str) -> dict:
        with self._lock:
            queue_id = self._queue_id(queue)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT id, payload FROM kombu_message WHERE queue_id = ? AND visible != 0 "
                                       "ORDER BY timestamp, id LIMIT 1", (queue_id,)).fetchone()
                if row is not None:
                    self._db.execute("UPDATE kombu_message SET visible = 0 WHERE id = ?", (row[0],))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if row is None:
            raise Empty()
        return loads(row[1])

    def _waiting(self, queue_id: int) -> int:
        """Messages of the queue not delivered yet (the caller holds the lock)."""
        return self._db.execute("SELECT count(*) FROM kombu_message WHERE queue_id = ? AND visible != 0",
                                (queue_id,)).fetchone()[0]

    def _size(self, queue: str) -> int:
        with self._lock:
            return self._waiting(self._queue_id(queue))

    def _purge(self, queue: str) -> int:
        with self._lock:
            queue_id = self._queue_id(queue)
            count = self._waiting(queue_id)
            self._db.execute("DELETE FROM kombu_message WHERE queue_id = ?", (queue_id,))
        return count

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self._purge(queue)

    def close(self) -> None:
        super().close()
        with self._lock:
            self._db.close()


class Transport(virtual.Transport):
    Channel = Channel
    polling_interval = broker_wake.POLLING_INTERVAL
    default_port = 0
    can_parse_url = True  # kombu then keeps the whole URL as the hostname (as for its SQL transport)
    driver_type = "sql"
    driver_name = "sqlite"
    connection_errors = (sqlite3.OperationalError,)
    channel_errors = (sqlite3.OperationalError,)

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        broker_wake.drain_events(self, timeout)

    def driver_version(self) -> str:
        return sqlite3.sqlite_version
