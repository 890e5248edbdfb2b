"""The embedded broker's kombu transport over sqlite3, in-process, against kombu itself."""

from __future__ import annotations

import threading
from pathlib import Path

from kombu import Connection

from pulp_platform.tasking import sqlite_broker


def connection(path: Path) -> Connection:
    return Connection(f"sqlite:///{path}", transport=sqlite_broker.TRANSPORT_PATH)


def test_a_message_sent_is_received_once(tmp_path: Path) -> None:
    path = tmp_path / "broker.sqlite"
    with connection(path) as sender, connection(path) as first, connection(path) as second:
        sender.SimpleQueue("q").put({"n": 1})
        assert sender.SimpleQueue("q").qsize() == 1
        got = []

        def take(conn: Connection) -> None:
            queue = conn.SimpleQueue("q")
            try:
                message = queue.get(timeout=1)
            except queue.Empty:
                return
            got.append(message.payload)
            message.ack()

        takers = [threading.Thread(target=take, args=(c,)) for c in (first, second)]
        for t in takers:
            t.start()
        for t in takers:
            t.join()
        assert got == [{"n": 1}]
        assert sender.SimpleQueue("q").qsize() == 0


def test_a_broker_file_written_by_kombus_sql_transport_keeps_its_messages(tmp_path: Path) -> None:
    """Data dirs from before this transport hold kombu's SQLAlchemy tables: their messages still arrive."""
    path = tmp_path / "broker.sqlite"
    with Connection(f"sqla+sqlite:///{path}") as old:
        old.SimpleQueue("pulp").put({"task": "from before"})
    with connection(path) as new:
        queue = new.SimpleQueue("pulp")
        message = queue.get(timeout=2)
        assert message.payload == {"task": "from before"}
        message.ack()
        queue.put({"task": "after"})
        assert queue.get(timeout=2).payload == {"task": "after"}


def test_purge_counts_what_was_waiting(tmp_path: Path) -> None:
    with connection(tmp_path / "broker.sqlite") as conn:
        queue = conn.SimpleQueue("q")
        for n in range(3):
            queue.put({"n": n})
        assert queue.clear() == 3
        assert queue.qsize() == 0
