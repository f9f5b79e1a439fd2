"""The current tenant of this context, and the one way to enter another.

`current_tenant` is a proxy to the tenant of this context (a shop request, a job, a CLI
loop); `tenant_context()` is the only way code outside a request enters a tenant, and
each such block is one unit of work.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func
from werkzeug.local import LocalProxy

from saas.db import NoTenantSelected, current_schema, schema_for, unit_of_work
from saas.models import Tenant


@dataclass(frozen=True)
class TenantRecord:
    """What a request or job needs to know about its tenant; cacheable and immutable."""

    id: int
    slug: str
    name: str
    status: str
    theme: str
    launched: bool = True
    # Unix time from which unpaid billing closes the storefront (None: it does not).
    closes_at: float | None = None

    @property
    def schema(self) -> str:
        return schema_for(self.id)

    @property
    def closed_for_billing(self) -> bool:
        return self.closes_at is not None and time.time() >= self.closes_at

    @classmethod
    def of(cls, tenant: Tenant | TenantRecord) -> TenantRecord:
        if isinstance(tenant, TenantRecord):
            return tenant
        return cls(
            tenant.id,
            tenant.slug,
            tenant.name,
            tenant.status,
            tenant.theme,
            tenant.launched_at is not None,
            tenant.billing_closes_at.timestamp() if tenant.billing_closes_at else None,
        )

    @classmethod
    def from_row(cls, row: Any) -> TenantRecord:
        """A record from a row of `RECORD_COLUMNS`."""
        id_, slug, name, status, theme, launched, closes_at = row
        return cls(
            id_,
            slug,
            name,
            status,
            theme,
            launched,
            None if closes_at is None else float(closes_at),
        )


# What a TenantRecord is read from (`TenantRecord.from_row`).
RECORD_COLUMNS = (
    Tenant.id,
    Tenant.slug,
    Tenant.name,
    Tenant.status,
    Tenant.theme,
    Tenant.launched_at.is_not(None),
    func.extract("epoch", Tenant.billing_closes_at),
)


_current_tenant: ContextVar[TenantRecord | None] = ContextVar("current_tenant", default=None)


def get_current_tenant() -> TenantRecord | None:
    return _current_tenant.get()


def _require_tenant() -> TenantRecord:
    tenant = _current_tenant.get()
    if tenant is None:
        raise NoTenantSelected("current_tenant used with no shop selected")
    return tenant


# The shop this context belongs to; using it outside a shop raises NoTenantSelected.
current_tenant: TenantRecord = LocalProxy(_require_tenant)  # type: ignore[assignment]


@contextmanager
def tenant_context(tenant: Tenant | TenantRecord | None) -> Iterator[TenantRecord | None]:
    """Run the block as `tenant` (or as the platform, with None), then restore the caller's.

    The block is one unit of work, the edge of a job, of one shop in a CLI loop, or of a
    test's step: it gets its own application context and so its own database session
    (ORM identities loaded for one tenant can never be handed to another), commits when
    the block finishes and rolls back when it raises.
    """
    record = TenantRecord.of(tenant) if tenant is not None else None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        tenant_token = _current_tenant.set(record)
        schema_token = current_schema.set(record.schema if record else None)
        try:
            with unit_of_work(closing=True):
                yield record
        finally:
            current_schema.reset(schema_token)
            _current_tenant.reset(tenant_token)
