"""Creating and dropping tenant schemas.

A new shop does not replay the migration history: its schema is built from the current
tenant metadata and stamped at the tenant head, in the same transaction as the tenant
row, so a failure at any step leaves nothing behind (PostgreSQL DDL is transactional).
"""

from __future__ import annotations

import logging

from sqlalchemy import select, text

import tenants.models  # noqa: F401  (the tenant metadata must be complete)
from saas.db import TenantModel, checked_schema, db
from saas.models import Tenant, TenantStatus
from saas.schema_migrations import stamp_tenant
from saas.sites import InvalidSlug, validate_slug

log = logging.getLogger(__name__)


class SlugTaken(InvalidSlug):
    """Another shop already has this address."""


def slug_available(slug: str) -> bool:
    return db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is None


def create_tenant(
    slug: str, name: str, *, owner_email: str | None = None, theme: str = "base"
) -> Tenant:
    """Create a shop: its platform row and its own schema, ready to serve.

    Flushes only; the caller's commit makes the shop live (and a rollback leaves no
    trace of it, schema included).

    Raises:
        InvalidSlug: the address cannot be used (the message says why).
        SlugTaken: another shop has it.
    """
    slug = validate_slug(slug)
    name = name.strip() or slug
    if not slug_available(slug):
        raise SlugTaken(f"The address “{slug}” is already taken.")
    tenant = Tenant(
        slug=slug, name=name, owner_email=owner_email, theme=theme, status=TenantStatus.PROVISIONING
    )
    db.session.add(tenant)
    db.session.flush()
    build_schema(tenant.schema)
    tenant.status = TenantStatus.ACTIVE
    db.session.flush()
    log.info("created shop %s in schema %s", slug, tenant.schema)
    return tenant


def build_schema(schema: str) -> None:
    """Create `schema` with every tenant table at the current head, in the open transaction."""
    schema = checked_schema(schema)
    conn = db.session.connection()
    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    TenantModel.metadata.create_all(
        conn.execution_options(schema_translate_map={"tenant": schema}), checkfirst=False
    )
    # 2.x execution_options() changes the connection in place: put it back as it was.
    conn.execution_options(schema_translate_map=None)
    stamp_tenant(conn, schema)


def drop_tenant(tenant: Tenant) -> None:
    """Delete a shop and everything in its schema. Flushes; the caller commits."""
    schema = checked_schema(tenant.schema)
    db.session.connection().execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    db.session.delete(tenant)
    db.session.flush()
    log.info("dropped shop %s and schema %s", tenant.slug, schema)
