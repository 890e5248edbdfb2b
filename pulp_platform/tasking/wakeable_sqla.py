"""kombu's SQL transport (the embedded SQLite broker) with a poll that a send can cut short.

kombu's SQL transport has no notifications: a consumer asks the database for messages, and when there
are none sleeps ``polling_interval`` and asks again. Polled every 50 ms, that was 3% of a core with the
server doing nothing; polled every second, every task would wait up to a second to start. In
``pulp-server run`` the API and the first worker share a process, so a send can wake that worker
directly: ``wake()`` (called by ``celery_app.send``) ends its sleep, and the poll falls back to
seconds. Other processes' consumers (``pulp-server worker`` on the same SQLite file) still poll, at
``POLLING_INTERVAL``; with Redis or RabbitMQ none of this is used (they push).

It is a subclass because kombu offers no hook for the sleep; ``drain_events`` below is kombu's loop
(``kombu.transport.virtual.base.Transport.drain_events``) with ``sleep`` replaced by the event.
"""

from __future__ import annotations

import threading
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import sqlalchemy

POLLING_INTERVAL = 1.0
_WAKE = threading.Event()
_STOPPING = threading.Event()
# Celery's broker_transport setting names this class; the broker URL is then the database URL
# without kombu's "sqla+" (kombu refuses import paths inside URLs, and a "+" scheme would override it).
TRANSPORT_PATH = f"{__name__}:Transport"


def shutting_down() -> None:
    """The worker in this process is stopping: from now on a poll that finds nothing returns at once.

    Celery drains the connection once more after it has decided to stop; a sleeping poll would hold
    a Ctrl-C up for its whole timeout (2 s)."""
    _STOPPING.set()
    _WAKE.set()


def wake() -> None:
    """A message was just sent from this process (or it is shutting down): consumers sleeping in it
    look again now."""
    _WAKE.set()


def database_url(sqla_url: str) -> str:
    """The database of a ``sqla+<database URL>`` broker URL, for use with ``TRANSPORT_PATH``."""
    return sqla_url.split("+", 1)[1]


class Transport(sqlalchemy.Transport):
    polling_interval = POLLING_INTERVAL

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        time_start = monotonic()
        polling_interval = self.polling_interval
        if timeout and polling_interval and polling_interval > timeout:
            polling_interval = timeout
        woken = False
        while True:
            _WAKE.clear()  # before looking: a send after the look sets it again, so none is missed
            try:
                self.cycle.get(self._deliver, timeout=timeout)
            except Empty:
                # Woken and still nothing (a shutdown wakes it too): give the caller's loop its turn,
                # as a timeout would (socket.timeout is TimeoutError), so celery sees a warm shutdown now.
                if woken or _STOPPING.is_set() or (timeout is not None and monotonic() - time_start >= timeout):
                    raise TimeoutError() from None
                woken = _WAKE.wait(polling_interval)
            else:
                break
