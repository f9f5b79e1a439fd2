"""Which version of a shop's cached storefront pages is current, and when it moves on.

A shop's cached pages (`tenants.shop.cache`) live under its page version
(`t:<id>:page-version`), bumped once the unit of work that changed what the storefront
shows commits: any row of a tenant table whose model says `storefront_visible`, written
while the shop is selected, or its `tenants`/`domains` row. Tables no storefront page
shows (orders, carts, customers, staff...) leave the cache alone, so a busy checkout
does not empty it; code that changes what pages show through such a table (stock
running low) calls `storefront_changed()`. SQL run on a bare connection bypasses the
session events: such code calls `bump()` itself, and the cache's TTL bounds whatever
still slips through.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from saas.cache import redis_client
from saas.db import TenantModel, after_commit, db
from saas.models import Domain, Tenant
from saas.tenancy import get_current_tenant

log = logging.getLogger(__name__)


def version_key(tenant_id: int) -> str:
    return f"t:{int(tenant_id)}:page-version"


def lua_version_key(id_expr: str) -> str:
    """`version_key` in Lua, for a script that has the shop's id in `id_expr`."""
    return f"'t:' .. {id_expr} .. ':page-version'"


def bump(*tenant_ids: int) -> None:
    """Forget every cached page of these shops now (they changed)."""
    if not tenant_ids:
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        for tenant_id in tenant_ids:
            pipe.incr(version_key(tenant_id))
        pipe.execute()
    except Exception:
        log.error("could not bump the page cache version of shops %s", tenant_ids, exc_info=True)


def storefront_changed(tenant_id: int) -> None:
    """The shop's pages change with this unit of work: bump once it commits (once per
    shop and transaction, however many rows changed)."""
    after_commit(partial(bump, int(tenant_id)), key=("page-version", int(tenant_id)))


def _current_tenant_id() -> int | None:
    tenant = get_current_tenant()
    return tenant.id if tenant is not None else None


def _collect_changed_shops(db_session: Session, flush_context: Any) -> None:
    tenant_id = _current_tenant_id()
    for obj in (*db_session.new, *db_session.dirty, *db_session.deleted):
        if isinstance(obj, TenantModel):
            if tenant_id is not None and obj.storefront_visible:
                storefront_changed(tenant_id)
        elif isinstance(obj, Tenant):
            if obj.id is not None:
                storefront_changed(obj.id)
        elif isinstance(obj, Domain) and obj.tenant_id is not None:
            storefront_changed(obj.tenant_id)


def _collect_bulk_statements(state: ORMExecuteState) -> None:
    """ORM-enabled INSERT/UPDATE/DELETE statements (bulk edits) skip the flush events.

    Only tenant tables are caught here; a bulk statement on `tenants`/`domains` does not
    say which shops it touched, so such code must call `bump()` itself.
    """
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    tenant_id = _current_tenant_id()
    if (
        tenant_id is not None
        and mapper is not None
        and issubclass(mapper.class_, TenantModel)
        and mapper.class_.storefront_visible
    ):
        storefront_changed(tenant_id)


def init_app(app: Flask) -> None:
    session_cls = db.session.session_factory.class_
    if not getattr(session_cls, "_page_cache_hooks", False):
        event.listen(session_cls, "after_flush", _collect_changed_shops)
        event.listen(session_cls, "do_orm_execute", _collect_bulk_statements)
        session_cls._page_cache_hooks = True  # type: ignore[attr-defined]
