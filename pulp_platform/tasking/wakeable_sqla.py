"""kombu's SQL transport, for a ``sqla+<database URL>`` broker other than SQLite, with the poll a send
in the same process, or an ack there, cuts short (``broker_wake``).

The embedded SQLite broker does not use it (``sqlite_broker``): SQLAlchemy costs every process that loads
it about 20 MB. It is a subclass because kombu offers no hook for the sleep.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import sqlalchemy

from pulp_platform.tasking import broker_wake

# Celery's broker_transport setting names this class; the broker URL is then the database URL
# without kombu's "sqla+" (kombu refuses import paths inside URLs, and a "+" scheme would override it).
TRANSPORT_PATH = f"{__name__}:Transport"


def database_url(sqla_url: str) -> str:
    """The database of a ``sqla+<database URL>`` broker URL, for use with ``TRANSPORT_PATH``."""
    return sqla_url.split("+", 1)[1]


class Channel(broker_wake.WakingChannel, sqlalchemy.Channel):
    pass


class Transport(sqlalchemy.Transport):
    Channel = Channel
    polling_interval = broker_wake.POLLING_INTERVAL

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        broker_wake.drain_events(self, timeout)
