"""The celery application: one generic task, ``pulp.run_task(task_id)``, on one queue."""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from celery import Celery

from pulp_platform.config import Settings
from pulp_platform.tasking import broker_wake, sqlite_broker

log = logging.getLogger(__name__)
RUN_TASK = "pulp.run_task"
QUEUE = "pulp"


def create_app(settings: Settings) -> Celery:
    """A celery app for ``settings``' broker; the API only sends with it, workers also consume."""
    broker = settings.effective_broker_url
    transport = None
    if broker.startswith("sqla+sqlite:"):
        # The embedded default: plain sqlite3, no SQLAlchemy; it sleeps until a send in this process wakes it.
        (settings.data_dir / "celery").mkdir(parents=True, exist_ok=True)
        broker, transport = broker.removeprefix("sqla+"), sqlite_broker.TRANSPORT_PATH
    elif broker.startswith("sqla+"):
        from pulp_platform.tasking import wakeable_sqla  # loads SQLAlchemy: only for other SQL databases

        broker, transport = wakeable_sqla.database_url(broker), wakeable_sqla.TRANSPORT_PATH
    app = Celery("pulp", broker=broker, set_as_current=False)
    app.conf.update(
        broker_transport=transport,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        # Task state and results live in the database; celery's result store is never read, so
        # there is none unless one is configured explicitly (for celery's own tools).
        task_ignore_result=True,
        result_backend=settings.result_backend or None,
        # Acknowledge after running, and take one message per free thread, so a worker never hoards
        # messages it is not working on.
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        enable_utc=True,
        timezone="UTC",
    )
    return app


# The API's request threads, its reaper and a worker's task threads all send. kombu's SQL transport is
# not safe for that: a channel shared by two threads at once was seen losing its connection ("'NoneType'
# object has no attribute 'client'"). Sends are short; one at a time per process costs nothing.
_SEND_LOCK = threading.Lock()
# One producer per app, on a connection of our own rather than from celery's pool: a send that fails
# (a full disk under the SQLite broker leaves its session needing a rollback that kombu never does)
# must be able to throw its connection away. The pool cannot: force_close_all() either marks it closed
# for good ("Acquire on closed pool" on every later send) or empties it so that acquire blocks forever.
_PRODUCERS: dict[int, Any] = {}


def _producer(app: Celery) -> Any:
    producer = _PRODUCERS.get(id(app))
    if producer is None:
        producer = _PRODUCERS[id(app)] = app.connection_for_write().Producer()
    return producer


def _discard_producer(app: Celery) -> None:
    producer = _PRODUCERS.pop(id(app), None)
    if producer is not None:
        try:
            producer.connection.close()
        except Exception:  # noqa: BLE001 - it is being thrown away because it is broken
            log.debug("closing a failed broker connection failed too", exc_info=True)


def send(app: Celery, task_id: str) -> None:
    """Queue a message asking a worker to run (or re-check) task ``task_id``.

    A failed send is retried once on a new connection; the next send after a second failure starts
    on a new one too, so dispatch recovers by itself once the broker (or its disk) does.
    """
    with _SEND_LOCK:
        try:
            app.send_task(RUN_TASK, args=[task_id], queue=QUEUE, producer=_producer(app))
            broker_wake.wake()
        except Exception:  # noqa: BLE001 - retried once on a fresh connection, then the caller decides
            log.warning("sending task %s failed; retrying on a new connection", task_id, exc_info=True)
            _discard_producer(app)
            try:
                app.send_task(RUN_TASK, args=[task_id], queue=QUEUE, producer=_producer(app))
            except Exception:
                _discard_producer(app)
                raise
            broker_wake.wake()


def prune_sqlite_broker(settings: Settings) -> int:
    """Delete delivered messages from the embedded SQLite broker; returns how many.

    kombu's SQL transport keeps every delivered message (``visible = 0``) and never delivers it again
    (a restored message is a new row), so without this the table grows by one row per task and per
    re-queue of a task waiting for its repository.
    """
    if settings.broker_url:
        return 0
    path = settings.data_dir / "celery" / "broker.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=10) as conn:
            removed = conn.execute("DELETE FROM kombu_message WHERE visible = 0").rowcount
    except sqlite3.Error as exc:
        log.warning("could not prune the broker's delivered messages: %s", exc)
        return 0
    if removed:
        log.debug("pruned %d delivered message(s) from the broker", removed)
    return removed
