"""A broker poll that a send in the same process can cut short, for the SQL brokers that only poll.

A polling consumer asks the database for messages, and when there are none sleeps ``POLLING_INTERVAL``
and asks again. In ``pulp-server run`` the API and the first worker share a process, so a send can wake
that worker directly: ``wake()`` (called by ``celery_app.send``) ends its sleep, and the poll falls back
to a second. An acknowledgement wakes it too (``WakingChannel``): with every task thread busy the
consumer takes no message (its prefetch is full), and the thread that finishes one must not leave the
next waiting out the sleep (it did: 10 uploads at once ran their imports in bursts of 4, 0.6 s apart).
Other processes' consumers (``pulp-server worker`` on the same SQLite file) still poll, at
``POLLING_INTERVAL``; with Redis or RabbitMQ none of this is used (they push).

``drain_events`` is kombu's loop (``kombu.transport.virtual.base.Transport.drain_events``) with its
``sleep`` replaced by the event: kombu offers no hook there.
"""

from __future__ import annotations

import threading
from queue import Empty
from time import monotonic
from typing import Any

POLLING_INTERVAL = 1.0
_WAKE = threading.Event()
_STOPPING = threading.Event()


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


class WakingChannel:
    """A mixin for a kombu virtual channel: an ack or a reject frees a place in the consumer's prefetch
    (``task_acks_late``, one message per thread), so a poll sleeping in this process looks again now."""

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple)  # type: ignore[misc]
        wake()

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        super().basic_reject(delivery_tag, requeue)  # type: ignore[misc]
        wake()


def drain_events(transport: Any, timeout: float | None = None) -> None:
    """Deliver one message of ``transport`` (a kombu virtual transport), sleeping on the event between polls."""
    time_start = monotonic()
    polling_interval = transport.polling_interval
    if timeout and polling_interval and polling_interval > timeout:
        polling_interval = timeout
    woken = False
    while True:
        _WAKE.clear()  # before looking: a send after the look sets it again, so none is missed
        try:
            transport.cycle.get(transport._deliver, timeout=timeout)
        except Empty:
            # Woken and still nothing (a shutdown wakes it too): give the caller's loop its turn, as a
            # timeout would (socket.timeout is TimeoutError), so celery sees a warm shutdown now.
            if woken or _STOPPING.is_set() or (timeout is not None and monotonic() - time_start >= timeout):
                raise TimeoutError() from None
            woken = _WAKE.wait(polling_interval)
        else:
            break
