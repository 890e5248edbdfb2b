"""The embedded broker's kombu transport over sqlite3, in-process, against kombu itself."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest
from kombu import Connection, Queue

from pulp_platform.tasking import broker_wake, sqlite_broker, wakeable_sqla


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


@pytest.mark.parametrize("transport", [sqlite_broker.TRANSPORT_PATH, wakeable_sqla.TRANSPORT_PATH])
def test_an_ack_wakes_a_consumer_whose_prefetch_was_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         transport: str) -> None:
    """With every task thread busy the consumer takes nothing and sleeps; the ack of a finished task
    must wake it for the next message, not leave that waiting out the poll interval (here 60 s)."""
    monkeypatch.setattr(broker_wake, "POLLING_INTERVAL", 60.0)
    monkeypatch.setattr(sqlite_broker.Transport, "polling_interval", 60.0)
    monkeypatch.setattr(wakeable_sqla.Transport, "polling_interval", 60.0)
    path = tmp_path / "broker.sqlite"
    received: queue.Queue = queue.Queue()
    stop = threading.Event()
    with Connection(f"sqlite:///{path}", transport=transport) as conn:
        conn.SimpleQueue("q").put({"n": 1})
        conn.SimpleQueue("q").put({"n": 2})
        with conn.Consumer(Queue("q"), callbacks=[lambda body, message: received.put((body, message))],
                           prefetch_count=1):

            def consume() -> None:
                while not stop.is_set():
                    try:
                        conn.drain_events()
                    except TimeoutError:
                        pass

            consumer = threading.Thread(target=consume)
            consumer.start()
            try:
                body, first = received.get(timeout=10)
                assert body == {"n": 1}
                with pytest.raises(queue.Empty):
                    received.get(timeout=0.5)  # its one place is taken: the second waits
                first.ack()
                body, second = received.get(timeout=10)  # not 60 s: the ack woke the poll
                assert body == {"n": 2}
                second.ack()
            finally:
                stop.set()
                broker_wake.wake()
                consumer.join(timeout=10)
            assert not consumer.is_alive()
