"""``pulp-server``: ``run`` (everything in the foreground), or one role each: ``api``, ``worker``.

``run`` starts, as children of one foreground process: the embedded SecantusDB (unless a MongoDB URI
is configured), N ``pulp-server worker`` processes, and the HTTP API (in this process). It writes
``<data_dir>/run/server.json`` (``url``, ``mongo_uri``, ``pid``) once it listens, so scripts and tests
can bind port 0 and find the server; ``api`` and ``worker`` started without a MongoDB URI use the
database named there. Ctrl-C or SIGTERM stops everything it started.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from pulp_platform import db, malloc_arenas, plugin_api, validation
from pulp_platform.config import DEFAULT_ADMIN_PASSWORD, Settings, load, to_environ
from pulp_platform.errors import InvalidValue
from pulp_platform.models import PLATFORM_MODELS

log = logging.getLogger("pulp_platform.server")
# A worker that exits this soon after starting, this many times in a row, is not worth restarting.
FAST_EXIT_SECONDS = 10.0
FAST_EXIT_LIMIT = 3
# How often `run` deletes delivered messages from the embedded SQLite broker.
BROKER_PRUNE_INTERVAL = 300.0


class Failure(click.ClickException):
    """A start-up problem: one line on stderr, exit status 1."""


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s [%(process)d %(name)s] %(message)s")


def settings_options(func: Callable) -> Callable:
    """The flags every command takes; each overrides the config file and ``PULP_*`` variables."""
    options = [
        click.option("--config", "config", type=click.Path(dir_okay=False), help="INI config file ([server])."),
        click.option("--data-dir", help="Where the database, content, uploads and logs live."),
        click.option("--bind", help="HOST:PORT for the HTTP API (port 0 picks a free one)."),
        click.option("--mongo-uri", help="A MongoDB URI; empty means the embedded SecantusDB."),
        click.option("--broker-url", help="A celery broker URL (redis://...); empty means SQLite in the data dir."),
        click.option("--admin-password", help="Password of the admin user (default 'admin'); see also "
                                               "--admin-password-file and PULP_ADMIN_PASSWORD."),
        click.option("--admin-password-file",
                     help="A file whose first line is the admin password (keeps it off the command line)."),
        click.option("--log-level", help="DEBUG, INFO, WARNING or ERROR."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load(config: str | None, **flags: Any) -> Settings:
    try:
        settings = _with_password_file(load(config, **flags))
    except (OSError, ValueError) as exc:
        raise Failure(f"bad configuration: {exc}") from None
    for name, check in (("admin_username", validation.check_login), ("admin_password", validation.check_password)):
        try:
            check(getattr(settings, name))
        except InvalidValue as exc:
            raise Failure(f"bad configuration: {name}: {exc.reason}") from None
    return settings


def _with_password_file(settings: Settings) -> Settings:
    """``admin_password`` read from ``admin_password_file`` (up to its first line break) when that is set."""
    if not settings.admin_password_file:
        return settings
    if settings.admin_password != DEFAULT_ADMIN_PASSWORD:
        raise ValueError("admin_password and admin_password_file are both set; set one")
    path = Path(settings.admin_password_file).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ValueError(f"cannot read admin_password_file {path}: {reason}") from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise ValueError(f"admin_password_file {path} is empty")
    return replace(settings, admin_password=password)


def _discovered_mongo_uri(settings: Settings) -> str:
    """The configured MongoDB URI, else that of a ``pulp-server run`` on the same data dir."""
    if settings.mongo_uri:
        return settings.mongo_uri
    info = settings.data_dir / "run" / "server.json"
    try:
        return json.loads(info.read_text())["mongo_uri"]
    except (OSError, ValueError, KeyError):
        raise Failure(f"no mongo_uri configured and no running server found in {info}") from None


def _connect(uri: str) -> None:
    if not db.ping(uri, timeout=10):
        raise Failure(f"cannot reach the database at {uri}")
    db.connect(uri)


def prepare_database(settings: Settings) -> None:
    """Indexes of every platform and plugin model, the admin user, and recovery from an unclean stop."""
    from pulp_platform.recovery import recover
    from pulp_platform.webapi.auth import ensure_admin

    db.ensure_indexes(PLATFORM_MODELS)
    for type_id, model in plugin_api.plugins(settings.plugin_modules).unit_models.items():
        try:
            model.ensure_indexes()
        except Exception:
            log.exception("could not create the indexes of unit type %s", type_id)
    ensure_admin(settings)
    recover(settings)


def _listen(settings: Settings) -> socket.socket:
    host, port = settings.host_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted sockets whose listener says TCP,
    # and without it every response on a kept-alive connection waits ~40 ms for Nagle + delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Failure(f"cannot listen on {settings.bind}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _uvicorn_server(settings: Settings, mongo_uri: str, reaper: bool = True):
    import uvicorn

    from pulp_platform.webapi.app import create_app
    from pulp_platform.webapi.pathsend import pathsend_protocol
    from pulp_platform.webapi.quiet_server import QuietServer

    app = create_app(settings, mongo_uri, reaper=reaper)
    # Idle keep-alive connections stay open 75 s (nginx's default; uvicorn's is 5 s): a server closing
    # one just as its client reuses it fails that request, and httpx, unlike Go's clients, does not
    # retry it (seen once in 2,290 GETs of tests/platform/test_platform_load.py on a loaded machine).
    config = uvicorn.Config(app, log_config=None, log_level=settings.log_level.lower(), lifespan="on",
                            timeout_graceful_shutdown=10, timeout_keep_alive=75, proxy_headers=False,
                            http=pathsend_protocol())
    return QuietServer(config)


@contextlib.contextmanager
def _data_dir_lock(settings: Settings) -> Iterator[None]:
    run_dir = settings.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "server.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Failure(f"another pulp-server run is using {settings.data_dir}") from None
        yield


def _write_server_json(path: Path, info: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(path)


class Children:
    """The worker subprocesses of ``run``: started, watched and restarted, stopped on the way out."""

    def __init__(self, settings: Settings, mongo_uri: str, count: int) -> None:
        env = malloc_arenas.child_environ({**os.environ, **to_environ(settings), "PULP_MONGO_URI": mongo_uri})
        env.pop("PULP_ADMIN_PASSWORD", None)  # workers never need it
        env.pop("PULP_ADMIN_PASSWORD_FILE", None)
        self.env = env
        self.count = count
        self.procs: list[tuple[subprocess.Popen, float]] = []
        self.stopping = threading.Event()
        self.fast_exits = 0

    def _spawn(self) -> tuple[subprocess.Popen, float]:
        from pulp_platform.tasking.worker import PARENT_PID_VARIABLE

        command = [sys.executable, "-m", "pulp_platform.server_cli", "worker"]
        # A session of its own: a terminal's Ctrl-C reaches only `run`, which stops the workers in order
        # (before the database they need to finish their tasks).
        env = {**self.env, PARENT_PID_VARIABLE: str(os.getpid())}
        return subprocess.Popen(command, env=env, start_new_session=True), time.monotonic()

    def start(self) -> None:
        self.procs = [self._spawn() for _ in range(self.count)]

    def check(self) -> bool:
        """Restart workers that died; False once they die too fast to be worth restarting."""
        for i, (proc, started) in enumerate(self.procs):
            code = proc.poll()
            if code is None or self.stopping.is_set():
                continue
            quick = time.monotonic() - started < FAST_EXIT_SECONDS
            self.fast_exits = self.fast_exits + 1 if quick else 0
            if self.fast_exits >= FAST_EXIT_LIMIT:
                log.critical("workers keep exiting right after start (last status %s); giving up", code)
                return False
            log.error("worker process %d exited with status %s; starting another", proc.pid, code)
            self.procs[i] = self._spawn()
        return True

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc, _ in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d did not stop in %.0fs; killing it", proc.pid, timeout)
                proc.kill()
                proc.wait()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """The Pulp server: REST API v2, task workers, and (embedded) database."""


@main.command()
@settings_options
@click.option("--workers", type=click.IntRange(min=0), help="Worker processes to start (default 1).")
def run(config: str | None, **flags: Any) -> None:
    """Start the database (embedded unless --mongo-uri), the workers and the API, in the foreground."""
    malloc_arenas.limit_this_process()  # before any thread starts
    settings = _load(config, **flags)
    _configure_logging(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with _data_dir_lock(settings):
        _run(settings)


def _run(settings: Settings) -> None:
    stop_requested = threading.Event()
    server_box: dict[str, Any] = {}

    def request_stop(signum: int, frame: object) -> None:
        stop_requested.set()
        if "server" in server_box:
            server_box["server"].should_exit = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    database = db.EmbeddedDatabase(settings) if settings.embedded_db else None
    children = None
    info_path = settings.data_dir / "run" / "server.json"
    try:
        try:
            mongo_uri = database.start() if database else settings.mongo_uri
        except RuntimeError as exc:
            raise Failure(str(exc)) from None
        _connect(mongo_uri)
        prepare_database(settings)
        sock = _listen(settings)
        # The first worker runs in this process (its celery consumer in the main thread, the API in a
        # thread): one interpreter less keeps the embedded default's memory low. Others are children.
        in_process_worker = settings.workers >= 1
        children = Children(settings, mongo_uri, settings.workers - 1 if in_process_worker else 0)
        children.start()
        # The in-process worker's heartbeat reaps as well, and the API stops with it: one reaper is enough.
        server = _uvicorn_server(settings, mongo_uri, reaper=not in_process_worker)
        server_box["server"] = server
        if stop_requested.is_set():
            return
        url = _url(sock)
        _write_server_json(info_path, {"url": url, "mongo_uri": mongo_uri, "pid": os.getpid(),
                                       "data_dir": str(settings.data_dir)})

        def stop_all() -> None:
            server.should_exit = True
            if in_process_worker:
                os.kill(os.getpid(), signal.SIGTERM)  # celery's own handler: warm shutdown

        threading.Thread(target=_supervise, args=(settings, server, database, children, stop_all),
                         daemon=True).start()
        click.echo(f"Listening on {url}", err=False)
        sys.stdout.flush()
        if not in_process_worker:
            server.run(sockets=[sock])
            return

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            finally:
                if not stop_requested.is_set():
                    stop_all()

        api_thread = threading.Thread(target=serve, name="pulp-api", daemon=True)
        api_thread.start()
        from celery import signals

        from pulp_platform.tasking.worker import run_worker

        def stop_if_requested(**_: object) -> None:
            # A Ctrl-C that came before celery took over SIGINT/SIGTERM only reached request_stop.
            if stop_requested.is_set():
                os.kill(os.getpid(), signal.SIGTERM)

        signals.worker_ready.connect(stop_if_requested, weak=False)
        try:
            run_worker(settings)
        finally:
            stop_requested.set()
            server.should_exit = True
            api_thread.join(30)
    finally:
        info_path.unlink(missing_ok=True)
        if children:
            children.stop()
        if database:
            database.stop()
        log.info("pulp-server stopped")


def _supervise(settings: Settings, server: Any, database: db.EmbeddedDatabase | None, children: Children,
               stop_all: Callable[[], None]) -> None:
    from pulp_platform.tasking.celery_app import prune_sqlite_broker

    last_prune = 0.0
    while not server.should_exit:
        if time.monotonic() - last_prune > BROKER_PRUNE_INTERVAL:
            prune_sqlite_broker(settings)
            last_prune = time.monotonic()
        if database and database.process and database.process.poll() is not None:
            log.critical("the embedded database exited (status %s); stopping", database.process.returncode)
            stop_all()
            return
        if not children.check():
            stop_all()
            return
        time.sleep(1.0)


@main.command()
@settings_options
@click.option("--concurrency", type=click.IntRange(min=1), help="Task threads in this worker (default 4).")
@click.option("--name", help="Worker name (default worker-<pid>@<host>).")
def worker(config: str | None, concurrency: int | None, name: str | None, **flags: Any) -> None:
    """Run one task worker (needs the database and broker the API uses)."""
    from pulp_platform.tasking.worker import WorkerNameTaken, run_worker

    flags.pop("bind", None)
    settings = _load(config, worker_concurrency=concurrency, **flags)
    _configure_logging(settings.log_level)
    _connect(_discovered_mongo_uri(settings))
    plugin_api.plugins(settings.plugin_modules)
    try:
        run_worker(settings, name)
    except WorkerNameTaken as exc:
        raise Failure(str(exc)) from None


@main.command()
@settings_options
def api(config: str | None, **flags: Any) -> None:
    """Run the HTTP API alone (workers run elsewhere, sharing database, broker and storage)."""
    settings = _load(config, **flags)
    _configure_logging(settings.log_level)
    mongo_uri = _discovered_mongo_uri(settings)
    _connect(mongo_uri)
    prepare_database(settings)
    sock = _listen(settings)
    server = _uvicorn_server(settings, mongo_uri)

    def request_stop(signum: int, frame: object) -> None:
        server.should_exit = True

    # uvicorn re-raises the signal that stopped it; with these handlers that ends in a clean exit 0.
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    click.echo(f"Listening on {_url(sock)}")
    sys.stdout.flush()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
