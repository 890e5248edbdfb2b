"""The worker process: a celery consumer with a thread pool, plus the heartbeat/reaper thread."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable
from datetime import timedelta

from celery import signals
from celery.platforms import SecurityWarning
from celery.utils.log import mlevel

from pulp_platform.config import Settings
from pulp_platform.models.content import now
from pulp_platform.models.task import WAITING, TaskStatus, Worker
from pulp_platform.tasking import broker_wake, runner, workers
from pulp_platform.tasking.celery_app import QUEUE, RUN_TASK, create_app, send

log = logging.getLogger(__name__)


def default_name() -> str:
    return f"worker-{os.getpid()}@{socket.gethostname()}"


# Set by ``pulp-server run`` for the workers it starts: they stop when it is gone.
PARENT_PID_VARIABLE = "PULP_SERVER_RUN_PID"
# Seconds between a worker's passes over dead tasks' journals and staging dirs.
PERIODIC_RECOVERY_INTERVAL = 10.0


class WorkerNameTaken(RuntimeError):
    """A live worker already uses the name."""


def _take_name(name: str, settings: Settings, requeue: Callable[[str], None]) -> None:
    """Refuse a name a live worker has; reap a dead predecessor of the same name before reusing it."""
    previous = Worker._get_collection().find_one({"_id": name})
    if previous is None:
        return
    if previous["last_heartbeat"] > now() - timedelta(seconds=settings.worker_timeout):
        raise WorkerNameTaken(f"a live worker is already named {name}")
    # Its heartbeat is stale but nobody reaped it yet: do it now, or our first beat would revive it.
    workers.reap_worker(name, now(), requeue)


def run_worker(settings: Settings, name: str | None = None) -> None:
    """Consume tasks until SIGTERM/SIGINT (celery's warm shutdown lets running tasks finish)."""
    name = name or default_name()
    app = create_app(settings)
    if not os.environ.get(PARENT_PID_VARIABLE):
        # Started on its own (not by `run`, which recovered already): what dead workers left is undone
        # here. Only dead ones: other workers on other machines may be running their tasks.
        from pulp_platform import recovery

        recovery.recover(settings)
    _take_name(name, settings, lambda task_id: send(app, task_id))

    @app.task(name=RUN_TASK, ignore_result=True)
    def run_task(task_id: str) -> None:
        runner.execute(task_id, settings, name, requeue=lambda: send(app, task_id))

    def claim(sender: object = None, request: object = None, **_: object) -> None:
        # Mark a task as this worker's as soon as its message arrives, so that if this process dies
        # before running it the reaper knows to queue it again.
        if getattr(request, "name", None) == RUN_TASK and getattr(request, "args", None):
            TaskStatus._get_collection().update_one(
                {"_id": request.args[0], "state": WAITING}, {"$set": {"worker_name": name}})

    signals.task_received.connect(claim, weak=False)
    # Ctrl-C or SIGTERM: the consumer may be sleeping in the broker's poll; it should notice now.
    signals.worker_shutting_down.connect(lambda **_: broker_wake.shutting_down(), weak=False)
    parent = os.environ.get(PARENT_PID_VARIABLE)
    if parent:
        threading.Thread(target=_stop_when_orphaned, args=(int(parent),), name="pulp-parent", daemon=True).start()
    workers.heartbeat(name)
    beat = workers.Heartbeat(name, settings.worker_timeout, lambda task_id: send(app, task_id),
                             after_pass=_periodic_recovery(settings, app))
    beat.start()
    log.info("worker %s consuming queue %r with %d threads", name, QUEUE, settings.worker_concurrency)
    if os.geteuid() == 0:
        log.debug("running as root; tasks run in threads and messages are JSON only")
    try:
        with warnings.catch_warnings():
            # Celery warns through the root logger whenever it runs as root, even with a thread pool and
            # JSON only (the pickle risk it means does not apply); our own line says it once.
            warnings.simplefilter("ignore", SecurityWarning)
            # The worker itself, not celery's command line (``worker_main``): that loads click-repl,
            # prompt_toolkit and pygments, about 10 MB of a process that never shows a prompt.
            app.Worker(hostname=name, pool_cls="threads", concurrency=settings.worker_concurrency,
                       queues=[QUEUE], loglevel=mlevel(settings.log_level),
                       quiet=True,  # no banner: the log line above says what it consumes
                       without_gossip=True, without_mingle=True, without_heartbeat=True).start()
    finally:
        beat.stop()
        workers.unregister(name)
        log.info("worker %s stopped", name)


def _periodic_recovery(settings: Settings, app: object) -> Callable[[], None]:
    """Undo the journals of tasks whose worker died (one of several, say), a few times a minute at most."""
    from pulp_platform import recovery

    republish = recovery.republisher(app)
    last = 0.0

    def after_pass() -> None:
        nonlocal last
        if time.monotonic() - last >= PERIODIC_RECOVERY_INTERVAL:
            last = time.monotonic()
            recovery.periodic(settings, republish)

    return after_pass


def _stop_when_orphaned(parent_pid: int) -> None:
    """Warm-shut this worker down if the ``pulp-server run`` that started it died without stopping it."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    log.error("the pulp-server run that started this worker (pid %d) is gone; stopping", parent_pid)
    os.kill(os.getpid(), signal.SIGTERM)
