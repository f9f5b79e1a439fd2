"""Creating and dropping tenant schemas.

A new shop does not replay the migration history: its schema is built from the current
tenant metadata and stamped at the tenant head, in the same transaction as the tenant
row, so a failure at any step leaves nothing behind (PostgreSQL DDL is transactional).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saas.db import TenantModel, checked_schema, db
from saas.models import Tenant, TenantStatus
from saas.tenancy.migrations import stamp_tenant
from saas.tenancy.sites import InvalidSlug, validate_slug

log = logging.getLogger(__name__)


class SlugTaken(InvalidSlug):
    """Another shop already has this address."""


# What every new shop starts with (its settings row, say), added by the domains that own
# those tables: registered by `create_app`, run in the new schema's session.
ShopSeed = Callable[[Session, Tenant], None]
_seeds: list[ShopSeed] = []


def register_seed(seed: ShopSeed) -> None:
    """Run `seed(session, tenant)` in every new shop's schema, in its creating transaction."""
    if seed not in _seeds:
        _seeds.append(seed)


def slug_available(slug: str) -> bool:
    return db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is None


def create_tenant(
    slug: str,
    name: str,
    *,
    owner_email: str | None = None,
    theme: str = "base",
    launched: bool = True,
    signup_key: str | None = None,
) -> Tenant:
    """Create a shop: its platform row and its own schema, ready to serve.

    Flushes only; the caller's commit makes the shop live (and a rollback leaves no
    trace of it, schema included). With `launched=False` the storefront shows its
    "coming soon" page until the merchant launches it.

    Raises:
        InvalidSlug: the address cannot be used (the message says why).
        SlugTaken: another shop has it.
    """
    slug = validate_slug(slug)
    name = name.strip() or slug
    if not slug_available(slug):
        raise SlugTaken(f"The address “{slug}” is already taken.")
    tenant = Tenant(
        slug=slug,
        name=name,
        owner_email=owner_email,
        theme=theme,
        status=TenantStatus.PROVISIONING,
        launched_at=datetime.now(UTC) if launched else None,
        signup_key=signup_key,
    )
    db.session.add(tenant)
    db.session.flush()
    build_schema(tenant.schema)
    with schema_session(tenant.schema) as session:
        for seed in _seeds:
            seed(session, tenant)
    tenant.status = TenantStatus.ACTIVE
    db.session.flush()
    log.info("created shop %s in schema %s", slug, tenant.schema)
    return tenant


def build_schema(schema: str) -> None:
    """Create `schema` with every tenant table at the current head, in the open transaction."""
    schema = checked_schema(schema)
    if not TenantModel.metadata.tables:  # a shop with no tables would look alive and fail
        raise RuntimeError("no tenant tables are declared: build schemas inside create_app()")
    conn = db.session.connection()
    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    TenantModel.metadata.create_all(
        conn.execution_options(schema_translate_map={"tenant": schema}), checkfirst=False
    )
    # 2.x execution_options() changes the connection in place: put it back as it was.
    conn.execution_options(schema_translate_map=None)
    stamp_tenant(conn, schema)


@contextmanager
def schema_session(schema: str) -> Iterator[Session]:
    """An ORM session on the platform transaction's own connection, writing to `schema`.

    For filling a schema created in this same, still uncommitted transaction (which no
    other connection can see yet). The block's changes are flushed on exit and commit
    or roll back with the caller's transaction.
    """
    conn = db.session.connection()
    conn.execution_options(schema_translate_map={"tenant": checked_schema(schema)})
    try:
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            yield session
            session.flush()
            session.commit()  # releases the savepoint only; the caller's transaction goes on
    finally:
        conn.execution_options(schema_translate_map=None)


def drop_tenant(tenant: Tenant) -> None:
    """Delete a shop and everything in its schema. Flushes; the caller commits."""
    schema = checked_schema(tenant.schema)
    db.session.connection().execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    db.session.delete(tenant)
    db.session.flush()
    log.info("dropped shop %s and schema %s", tenant.slug, schema)
