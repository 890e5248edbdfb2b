"""``GET status/``: versions, database and broker reachability, known workers, free disk (no auth)."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

from starlette.requests import Request

from pulp_platform import db, diskspace
from pulp_platform.tasking import workers
from pulp_platform.webapi.endpoint import endpoint, state

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("pulp_docker")
    except PackageNotFoundError:
        return "unknown"


def broker_reachable(request: Request) -> bool:
    try:
        with state(request).celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not connected"
        log.warning("broker not reachable: %s", exc)
        return False


@endpoint(auth=False)
def status(request: Request, body: None) -> dict:
    api = state(request)
    connected = db.ping(api.mongo_uri, timeout=2)
    known = workers.live_workers(api.settings.worker_timeout) if connected else []
    return {
        "api_version": "2",
        "versions": {"platform_version": _version()},
        "database_connection": {"connected": connected},
        "messaging_connection": {"connected": broker_reachable(request)},
        "known_workers": [{"_id": w["_id"], "name": w["_id"], "_ns": "workers",
                           "last_heartbeat": w["last_heartbeat"]} for w in known],
        # Not in Pulp 2: free space where content and uploads are written.
        "storage": {name: {"path": str(path), **diskspace.usage(path)}
                    for name, path in (("content", api.settings.content_path),
                                       ("uploads", api.settings.upload_path))},
    }
