"""The host cache: which shop a host names, kept in Redis and dropped when it changes.

Resolution goes host -> tenant record through this cache, which is invalidated once any
unit of work that changes a tenant or a domain through the ORM commits (bulk
UPDATE/DELETE statements bypass that; the cache's TTL bounds how long they can go
unnoticed). The storefront's front cache reads the same entries from a Lua script,
which gets both the keys and its test of an open shop from here (`key_for`,
`lua_open_shop`), so the two can never disagree on what a record looks like.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, fields
from functools import partial
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from saas.cache import redis_client
from saas.db import after_commit, db
from saas.models import Domain, Tenant, TenantStatus
from saas.tenancy.context import RECORD_COLUMNS, TenantRecord
from saas.tenancy.sites import Site

log = logging.getLogger(__name__)

_CACHE_PREFIX = "platform:tenant-host:"


def _slug_key(slug: str) -> str:
    return f"{_CACHE_PREFIX}slug:{slug}"


def _domain_key(host: str) -> str:
    return f"{_CACHE_PREFIX}domain:{host}"


def key_for(site: Site) -> str:
    """Where the host cache keeps the shop a shop site names."""
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


def _invalidate(keys: set[str]) -> None:
    if not keys:
        return
    try:
        redis_client().delete(*keys)
    except Exception:
        log.error("could not invalidate tenant cache keys %s", sorted(keys), exc_info=True)


def _collect_changed_hosts(session: Session, flush_context: Any) -> None:
    keys: set[str] = set()
    tenant_ids: set[int] = set()
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
    if keys or tenant_ids:
        after_commit(partial(_invalidate_hosts, keys, tenant_ids))


def _invalidate_hosts(keys: set[str], tenant_ids: set[int]) -> None:
    """After commit: forget the changed shops' host-cache entries, their domains' too."""
    if tenant_ids:
        with db.engine.connect() as conn:
            hosts = conn.scalars(select(Domain.host).where(Domain.tenant_id.in_(tenant_ids)))
            keys = keys | {_domain_key(h) for h in hosts}
    _invalidate(keys)


def init_app(app: Flask) -> None:
    session_cls = db.session.session_factory.class_
    if not getattr(session_cls, "_tenant_cache_hooks", False):
        event.listen(session_cls, "after_flush", _collect_changed_hosts)
        session_cls._tenant_cache_hooks = True  # type: ignore[attr-defined]


# --- for the front cache's Lua script ----------------------------------------------------

_RECORD_FIELDS = {f.name for f in fields(TenantRecord)}


def _field(name: str) -> str:
    if name not in _RECORD_FIELDS:  # a renamed field breaks here, at import, not in Redis
        raise LookupError(f"TenantRecord has no field {name!r}")
    return name


def lua_open_shop() -> str:
    """Lua that reads the host-cache entry at KEYS[1] into `shop`, or returns false unless
    the shop is one whose cached pages any visitor may get without Flask: active,
    launched and with no billing closing time (a shop past due or closed goes through
    Flask, whose tenancy check closes it to the second)."""
    return f"""
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local shop = cjson.decode(raw)
if shop == cjson.null or shop.{_field("status")} ~= '{TenantStatus.ACTIVE}'
  or shop.{_field("launched")} ~= true then return false end
if type(shop.{_field("closes_at")}) == 'number' then return false end
"""


def lua_shop_field(name: str) -> str:
    """The Lua expression for a field of the `shop` that `lua_open_shop` read."""
    return f"shop.{_field(name)}"
