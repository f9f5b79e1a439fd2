"""Throwaway stores for a benchmark run, the apps under test, and PostgreSQL memory.

Same approach as `tests/conftest.py`: with DATABASE_URL / REDIS_URL set, databases
`storefront_bench_<run>_<role>` are created on that PostgreSQL server and database 14 of
that Redis server is used (flushed at start and end); without them the embedded servers
under `instance/` are used the same way. The throwaway databases are dropped at the end,
even when the run fails, so the demo data is never touched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Flask
from redis import Redis
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from saas import embedded
from saas.config import PROJECT_ROOT, normalise_database_url

REDIS_DB = 14
_ENV_KEYS = ("DATABASE_URL", "REDIS_URL", "INSTANCE_PATH")
_LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Stores:
    databases: dict[str, str]  # role -> SQLAlchemy URL of its throwaway database
    redis_url: str
    admin_url: str
    embedded: bool


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def redis_url_with_db(url: str, number: int) -> str:
    """`url` pointing at Redis database `number`, whatever database it named before.

    (Passing `db=` to `Redis.from_url` is not enough: a database in the URL wins.)
    """
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"]
        query.append(("db", str(number)))
        # Not urlunsplit: it would drop the empty authority and write "unix:/path".
        return f"unix://{parts.netloc}{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{number}"))


@contextlib.contextmanager
def throwaway_stores(roles: Sequence[str]) -> Iterator[Stores]:
    """One throwaway database per role, Redis DB 14; the environment points at the first.

    Everything is removed on the way out, whatever happened in between.
    """
    instance = Path(os.environ.get("INSTANCE_PATH", PROJECT_ROOT / "instance"))
    base_db = os.environ.get("DATABASE_URL")
    admin = _libpq(base_db) if base_db else embedded.admin_url(instance)
    run_id = uuid.uuid4().hex[:8]
    names = {role: f"storefront_bench_{run_id}_{role}" for role in roles}
    with contextlib.ExitStack() as cleanup:
        for name in names.values():
            embedded.create_database(admin, name)
            cleanup.callback(embedded.drop_database, admin, name)
        databases = {
            role: normalise_database_url(
                make_url(admin).set(database=name).render_as_string(hide_password=False)
            )
            for role, name in names.items()
        }
        base_redis = os.environ.get("REDIS_URL") or embedded.redis_url(instance)
        redis_url = redis_url_with_db(base_redis, REDIS_DB)
        redis = Redis.from_url(redis_url)
        cleanup.callback(redis.close)
        cleanup.callback(redis.flushdb)
        redis.flushdb()
        saved = {key: os.environ.get(key) for key in _ENV_KEYS}
        cleanup.callback(_restore_env, saved)
        scratch = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="storefront-bench-"))
        os.environ.update(
            DATABASE_URL=databases[roles[0]], REDIS_URL=redis_url, INSTANCE_PATH=scratch
        )
        yield Stores(databases, redis_url, admin, embedded=not base_db)


def _restore_env(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def quiet_logging() -> None:
    """The app logs at INFO and werkzeug logs every request: keep the output readable."""
    logging.getLogger().setLevel(logging.WARNING)
    # werkzeug sets its own logger to INFO on first use unless a level is already set.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def storefront_app(database_url: str) -> Any:
    """The real application on `database_url`, otherwise configured from the environment."""
    from saas import create_app
    from saas.cli import upgrade_platform
    from saas.db import db

    # The page cache stays off here: the shop-page figures measure rendering (tenancy,
    # the schema's queries, the theme); bench/storefront.py measures the cache itself.
    app = create_app(
        {"PUBLIC_PORT": "", "SQLALCHEMY_DATABASE_URI": database_url, "PAGE_CACHE_ENABLED": False}
    )
    quiet_logging()
    with app.app_context():
        upgrade_platform()
        db.session.remove()
    return app


def bare_app() -> Flask:
    """The baseline: a minimal Flask app with one route returning a short string."""
    app = Flask(__name__)

    @app.get("/")
    def index() -> str:
        return "Hello, World!"

    return app


# --- PostgreSQL memory ----------------------------------------------------------------


def _proc_memory_kib(pid: int) -> dict[str, int] | None:
    """Rss, Pss and private memory of one process (kiB), from /proc."""
    fields: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                key, _, rest = line.partition(":")
                if key in {"Rss", "Pss", "Private_Clean", "Private_Dirty"}:
                    fields[key] = int(rest.split()[0])
    except OSError:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        fields["Rss"] = int(line.split()[1])
        except OSError:
            return None
    if "Rss" not in fields:
        return None
    return {
        "rss": fields["Rss"],
        "pss": fields.get("Pss", fields["Rss"]),
        "private": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0),
    }


def _parent_pid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            data = stat.read()
    except OSError:
        return None
    # "pid (comm) state ppid ..."; comm may contain spaces or parentheses.
    return int(data[data.rindex(")") + 2 :].split()[1])


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return ""


def postgres_memory(engine: Engine) -> dict[str, Any] | None:
    """Memory of the PostgreSQL server when it runs on this machine; None otherwise.

    Returns the whole server's summed RSS and PSS (PSS shares shared_buffers out fairly
    instead of counting it once per process) and the private memory of the backends
    connected to the benchmark database, which is where per-schema catalog caches grow.
    """
    if engine.url.host not in _LOCAL_HOSTS and not str(engine.url.host).startswith("/"):
        return None
    try:
        with engine.connect() as conn:
            own = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            ours = set(
                conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
                ).scalars()
            )
    except Exception:
        return None
    if not _comm(own).startswith("postgres"):
        return None  # not visible from here (another host, container or pid namespace)
    postmaster = _parent_pid(own)
    if postmaster is None or not _comm(postmaster).startswith("postgres"):
        return None
    server = [postmaster]
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _parent_pid(int(entry)) == postmaster:
            server.append(int(entry))
    totals = {"rss": 0, "pss": 0}
    backends: list[dict[str, int]] = []
    for pid in server:
        mem = _proc_memory_kib(pid)
        if mem is None:
            continue
        totals["rss"] += mem["rss"]
        totals["pss"] += mem["pss"]
        if pid in ours:
            backends.append(mem)
    if not totals["rss"]:
        return None
    mib = 1024.0
    return {
        "server_processes": len(server),
        "server_rss_mib": round(totals["rss"] / mib, 1),
        "server_pss_mib": round(totals["pss"] / mib, 1),
        "bench_backends": len(backends),
        "bench_backends_private_mib": round(sum(b["private"] for b in backends) / mib, 1),
        "bench_backend_private_mean_mib": round(
            sum(b["private"] for b in backends) / mib / len(backends), 1
        )
        if backends
        else None,
    }
