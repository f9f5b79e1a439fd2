"""The current tenant: resolved from the request's site, or entered explicitly.

`current_tenant` is a proxy to the tenant of this context (a shop request, a job, a
CLI loop); `tenant_context()` is the only way code outside a request enters a tenant.
Resolution goes host -> tenant record through a Redis cache that is invalidated after
any ORM commit that changes a tenant or a domain (bulk UPDATE/DELETE statements bypass
that; the cache's TTL bounds how long they can go unnoticed).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

from flask import Flask, current_app, g, redirect, render_template, request
from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, HTTPException, NotFound, ServiceUnavailable
from werkzeug.local import LocalProxy

from saas.cache import redis_client
from saas.config import RESERVED_SLUGS
from saas.db import current_schema, db, schema_for
from saas.models import Domain, Tenant, TenantStatus
from saas.sites import SITE_ENVIRON_KEY, Site, absolute_url, public_host

log = logging.getLogger(__name__)


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


class UnknownShop(NotFound):
    description = "There is no shop at this address."


class ShopUnavailable(ServiceUnavailable):
    description = "This shop is temporarily unavailable."


class ShopClosed(ServiceUnavailable):
    """The shop's plan is unpaid past its grace period: shoppers see a friendly page."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is closed for the moment. Please come back soon.")
        self.shop_name = name


_current_tenant: ContextVar[TenantRecord | None] = ContextVar("current_tenant", default=None)


def get_current_tenant() -> TenantRecord | None:
    return _current_tenant.get()


def _require_tenant() -> TenantRecord:
    tenant = _current_tenant.get()
    if tenant is None:
        from saas.db import NoTenantSelected

        raise NoTenantSelected("current_tenant used with no shop selected")
    return tenant


# The shop this context belongs to; using it outside a shop raises NoTenantSelected.
current_tenant: TenantRecord = LocalProxy(_require_tenant)  # type: ignore[assignment]


@contextmanager
def tenant_context(tenant: Tenant | TenantRecord | None) -> Iterator[TenantRecord | None]:
    """Run the block as `tenant` (or as the platform, with None), then restore the caller's.

    The block gets its own application context and so its own database session: ORM
    identities loaded for one tenant can never be handed to another. Commit inside the
    block; what is left uncommitted is rolled back on exit.
    """
    record = TenantRecord.of(tenant) if tenant is not None else None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        tenant_token = _current_tenant.set(record)
        schema_token = current_schema.set(record.schema if record else None)
        try:
            yield record
        finally:
            current_schema.reset(schema_token)
            _current_tenant.reset(tenant_token)


# --- resolution -----------------------------------------------------------------------

_CACHE_PREFIX = "platform:tenant-host:"


def _slug_key(slug: str) -> str:
    return f"{_CACHE_PREFIX}slug:{slug}"


def _domain_key(host: str) -> str:
    return f"{_CACHE_PREFIX}domain:{host}"


def host_cache_key(site: Site) -> str:
    """Where the host cache keeps the shop a shop site names (see `resolve_shop`)."""
    return _domain_key(site.host) if site.custom_domain else _slug_key(site.slug or "")


def _load(by_slug: str | None = None, by_domain: str | None = None) -> TenantRecord | None:
    # Core on its own short connection: the request's session must not begin its
    # transaction before the tenant is chosen.
    query = select(*RECORD_COLUMNS)
    if by_slug is not None:
        query = query.where(Tenant.slug == by_slug)
    else:
        query = query.join(Domain, Domain.tenant_id == Tenant.id).where(Domain.host == by_domain)
    with db.engine.connect() as conn:
        row = conn.execute(query).first()
    return TenantRecord.from_row(row) if row else None


def _cached(key: str, loader: Any) -> TenantRecord | None:
    cache = redis_client()
    try:
        hit = cache.get(key)
    except Exception:  # a cache outage slows resolution down, it does not break it
        log.warning("tenant cache unavailable; resolving from the database", exc_info=True)
        return loader()
    if hit is not None:
        data = json.loads(hit)
        return TenantRecord(**data) if data else None
    record = loader()
    ttl = current_app.config["HOST_CACHE_TTL"]
    try:
        # Misses are cached too (shorter), so junk hosts cannot hammer the database.
        cache.set(key, json.dumps(asdict(record) if record else None), ex=ttl if record else 10)
    except Exception:
        log.warning("could not write the tenant cache", exc_info=True)
    return record


def tenant_by_slug(slug: str) -> TenantRecord | None:
    return _cached(_slug_key(slug), lambda: _load(by_slug=slug))


def tenant_by_domain(host: str) -> TenantRecord | None:
    return _cached(_domain_key(host), lambda: _load(by_domain=host))


def resolve_shop(site: Site, *, back_office: bool = False) -> TenantRecord:
    """The tenant a shop site names, or the HTTP error a visitor should see.

    A suspended shop is closed to shoppers but its back office stays open (bannered),
    so the merchant can see why and sort it out.
    """
    if site.custom_domain:
        record = tenant_by_domain(site.host)
        if record is None or record.status == TenantStatus.DELETED:
            raise BadRequest("Unknown host.")  # not ours: a forged or misrouted Host header
    elif site.slug in RESERVED_SLUGS:  # never a shop, whatever the database says
        raise UnknownShop()
    else:
        record = tenant_by_slug(site.slug or "")
        if record is None or record.status == TenantStatus.DELETED:
            raise UnknownShop()
    if record.status == TenantStatus.ACTIVE:
        # Unpaid past the grace period: the back office stays open (for billing only,
        # see tenants/backoffice/billing.py) so the merchant can pay and reopen.
        if record.closed_for_billing and not back_office:
            raise ShopClosed(record.name)
        return record
    if record.status == TenantStatus.SUSPENDED and back_office:
        return record
    raise ShopUnavailable()


def _invalidate(keys: set[str]) -> None:
    if not keys:
        return
    try:
        redis_client().delete(*keys)
    except Exception:
        log.error("could not invalidate tenant cache keys %s", sorted(keys), exc_info=True)


def _collect_changed_hosts(session: Session, flush_context: Any) -> None:
    keys: set[str] = session.info.setdefault("tenant_cache_keys", set())
    tenant_ids: set[int] = session.info.setdefault("tenant_cache_ids", set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Tenant):
            slug_history = inspect(obj).attrs.slug.history
            for slug in (*slug_history.deleted, *slug_history.unchanged, *slug_history.added):
                keys.add(_slug_key(slug))
            if obj.id is not None:
                tenant_ids.add(obj.id)
        elif isinstance(obj, Domain):
            host_history = inspect(obj).attrs.host.history
            for host in (*host_history.deleted, *host_history.unchanged, *host_history.added):
                keys.add(_domain_key(host))


def _flush_cache_invalidations(session: Session) -> None:
    keys: set[str] = session.info.pop("tenant_cache_keys", set())
    tenant_ids: set[int] = session.info.pop("tenant_cache_ids", set())
    if tenant_ids:
        with db.engine.connect() as conn:
            hosts = conn.scalars(select(Domain.host).where(Domain.tenant_id.in_(tenant_ids)))
            keys.update(_domain_key(h) for h in hosts)
    _invalidate(keys)


def _discard_cache_invalidations(session: Session, *args: Any) -> None:
    session.info.pop("tenant_cache_keys", None)
    session.info.pop("tenant_cache_ids", None)


# --- request wiring -------------------------------------------------------------------


def _enter_site() -> Any:
    """First thing every request does: refuse bad hosts, then choose the tenant."""
    site: Site | None = request.environ.get(SITE_ENVIRON_KEY)
    g.site = site
    g._tenant_tokens = (_current_tenant.set(None), current_schema.set(None))
    if site is None:
        raise BadRequest("Unknown host.")
    if site.www:
        return redirect(request.url.replace("//www.", "//", 1), code=301)
    if site.kind != "shop":
        return None
    record = resolve_shop(site, back_office=request.blueprint == "backoffice")
    _current_tenant.set(record)
    current_schema.set(record.schema)
    return None


def _leave_site(exc: BaseException | None) -> None:
    tokens = g.pop("_tenant_tokens", None)
    if tokens:
        current_schema.reset(tokens[1])
        _current_tenant.reset(tokens[0])


def _missing_schema(error: DBAPIError) -> Any:
    """A tenant whose schema is gone or unmigrated gets a clear page, not a traceback."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    tenant = get_current_tenant()
    if tenant is None or sqlstate not in {"3F000", "42P01"}:  # invalid schema / no table
        raise error
    log.error(
        "schema %s of shop %s is missing or incomplete: %s", tenant.schema, tenant.slug, error.orig
    )
    db.session.rollback()
    return error_page(ShopUnavailable())


def _size(limit: int) -> str:
    return f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit / 1024:g} KB"


def error_page(error: HTTPException) -> Any:
    site: Site | None = getattr(g, "site", None)
    tenant = get_current_tenant()
    if tenant is not None and error.code == 404:
        from saas.theming import render_theme  # a missing page inside a shop looks like the shop

        return render_theme(tenant.theme, "404.html", shop=tenant), 404
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    body = render_template(
        "errors/error.html",
        code=error.code,
        title={
            400: "Bad request",
            403: "Access denied",
            404: "Page not found",
            413: "File too large",
            429: "Too many requests",
            503: "Closed for now" if isinstance(error, ShopClosed) else "Temporarily unavailable",
        }.get(error.code or 500, error.name),
        message=(
            f"What you sent is larger than {_size(app.config['MAX_CONTENT_LENGTH'])}. "
            "Go back and choose a smaller file."
            if error.code == 413
            else error.description
        ),
        unknown_shop=isinstance(error, UnknownShop),
        platform_url=absolute_url(app, public_host(app, app.config["SAAS_DOMAIN"])),
        site=site,
    )
    return body, error.code


def init_app(app: Flask) -> None:
    # Registered before any blueprint, so a bad host stops here.
    app.before_request_funcs.setdefault(None, []).insert(0, _enter_site)
    app.teardown_request(_leave_site)
    app.register_error_handler(DBAPIError, _missing_schema)
    for code in (400, 403, 404, 405, 413, 429, 503):
        app.register_error_handler(code, error_page)

    session_cls = db.session.session_factory.class_
    if not getattr(session_cls, "_tenant_cache_hooks", False):
        event.listen(session_cls, "after_flush", _collect_changed_hosts)
        event.listen(session_cls, "after_commit", _flush_cache_invalidations)
        event.listen(session_cls, "after_rollback", _discard_cache_invalidations)
        session_cls._tenant_cache_hooks = True  # type: ignore[attr-defined]
