"""Alembic, driven from code: one tree for `public`, one applied to every tenant schema.

Tenant revisions are written without a schema; they run with `SET LOCAL search_path`
pointing at the tenant's schema (transaction-scoped, so it ends with the migration's
transaction) and keep their `alembic_version` table inside that schema.

Alembic's `op` and `context` are process-wide proxies, so migrations of several tenants
run in parallel *processes*, never threads.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy import Connection, text

from saas.config import PROJECT_ROOT
from saas.db import checked_schema, db, schema_for

log = logging.getLogger(__name__)

MIGRATIONS = PROJECT_ROOT / "migrations"


def alembic_config(
    tree: str, connection: Connection | None = None, schema: str | None = None
) -> Config:
    """An Alembic config for `tree` ("public" or "tenant"), bound to `connection`."""
    if tree not in {"public", "tenant"}:
        raise ValueError(f"unknown migration tree {tree!r}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS / tree))
    cfg.attributes["connection"] = connection
    cfg.attributes["schema"] = checked_schema(schema) if schema else None
    return cfg


@lru_cache(maxsize=2)
def head_revision(tree: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(tree)).get_current_head()
    if head is None:
        raise RuntimeError(f"migration tree {tree!r} has no revisions")
    return head


def upgrade_public(revision: str = "head") -> None:
    """Bring the platform tables in `public` up to `revision` (in its own transaction).

    The platform's starting data (the default plans) is the caller's to add: see
    `saas.cli.upgrade_platform`.
    """
    with db.engine.begin() as conn:
        command.upgrade(alembic_config("public", conn), revision)


def tenant_version(conn: Connection, schema: str) -> str | None:
    """The Alembic revision a tenant schema is at (None if it has no version table)."""
    table = f'"{checked_schema(schema)}".alembic_version'
    exists = conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar()
    if exists is None:
        return None
    return conn.execute(text(f"SELECT version_num FROM {table}")).scalar()  # noqa: S608


def stamp_tenant(conn: Connection, schema: str) -> None:
    """Record that a schema built from current metadata is at the tenant head."""
    schema = checked_schema(schema)
    conn.execute(
        text(
            f'CREATE TABLE "{schema}".alembic_version (version_num VARCHAR(32) NOT NULL, '
            f"CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
    )
    conn.execute(
        text(f'INSERT INTO "{schema}".alembic_version (version_num) VALUES (:v)'),  # noqa: S608
        {"v": head_revision("tenant")},
    )


def upgrade_tenant_schema(schema: str, revision: str = "head") -> bool:
    """Upgrade one tenant schema in its own transaction. Returns False if it was current."""
    schema = checked_schema(schema)
    with db.engine.begin() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        ).scalar()
        if not exists:
            raise LookupError(f"schema {schema} does not exist")
        if revision == "head" and tenant_version(conn, schema) == head_revision("tenant"):
            return False
        command.upgrade(alembic_config("tenant", conn, schema), revision)
    return True


@dataclass
class MigrationReport:
    upgraded: list[str]
    current: list[str]
    failed: dict[str, str]  # slug -> reason


_pool_app: Flask | None = None


def _init_pool_worker() -> None:
    # A forked child must not share the parent's pooled sockets.
    assert _pool_app is not None
    with _pool_app.app_context():
        db.engine.dispose(close=False)


def _upgrade_in_child(tenant_id: int, revision: str) -> tuple[str, str | None]:
    # Errors travel back as text: not every driver exception survives pickling.
    assert _pool_app is not None
    with _pool_app.app_context():
        try:
            changed = upgrade_tenant_schema(schema_for(tenant_id), revision)
        except Exception as exc:
            return "failed", (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return ("upgraded" if changed else "current"), None


def migrate_tenants(
    tenants: Iterable[tuple[int, str]],
    *,
    workers: int | None = None,
    revision: str = "head",
    on_progress: Callable[[str, str | None], Any] | None = None,
) -> MigrationReport:
    """Upgrade many tenant schemas, a few at a time; one failure never stops the rest.

    Args:
        tenants: (id, slug) pairs.
        workers: parallel processes (default `MIGRATION_WORKERS`).
        revision: target revision.
        on_progress: called with (slug, error or None) as each tenant finishes.

    Each tenant commits on its own, so a rerun picks up where a failed run stopped.
    """
    global _pool_app
    items = list(tenants)
    report = MigrationReport([], [], {})
    workers = max(1, workers or current_app.config["MIGRATION_WORKERS"])
    head_revision("tenant")  # parse the tree once, before forking
    _pool_app = current_app._get_current_object()  # type: ignore[attr-defined]
    ctx = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_pool_worker) as pool:
            futures = {pool.submit(_upgrade_in_child, tid, revision): slug for tid, slug in items}
            for future in as_completed(futures):
                slug = futures[future]
                outcome, error = future.result()
                if outcome == "failed":
                    report.failed[slug] = error or "unknown error"
                    log.error("migrating shop %s failed: %s", slug, error)
                else:
                    (report.upgraded if outcome == "upgraded" else report.current).append(slug)
                if on_progress:
                    on_progress(slug, error)
    finally:
        _pool_app = None
    return report
