"""Host to shop: the one lookup behind routing, the request hook and the front cache.

Every request first answers "which site is this?" from its host (`sites.classify_host`,
used by the URL adapter); for a shop site, `resolve_shop` then names the tenant through
the host cache, or the HTTP error a visitor should see, and the request hook selects
it for the rest of the request.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, redirect, request
from werkzeug.exceptions import BadRequest, NotFound, ServiceUnavailable

from saas.config import RESERVED_SLUGS
from saas.db import current_schema
from saas.models import TenantStatus
from saas.tenancy import host_cache
from saas.tenancy.context import TenantRecord, _current_tenant
from saas.tenancy.sites import SITE_ENVIRON_KEY, Site, in_back_office

log = logging.getLogger(__name__)


class UnknownShop(NotFound):
    description = "There is no shop at this address."


class ShopUnavailable(ServiceUnavailable):
    description = "This shop is temporarily unavailable."


class ShopClosed(ServiceUnavailable):
    """The shop's plan is unpaid past its grace period: shoppers see a friendly page."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is closed for the moment. Please come back soon.")
        self.shop_name = name


def resolve_shop(site: Site, *, back_office: bool = False) -> TenantRecord:
    """The tenant a shop site names, or the HTTP error a visitor should see.

    A suspended shop is closed to shoppers but its back office stays open (bannered),
    so the merchant can see why and sort it out; so does a shop closed for an unpaid
    plan, for billing only (`back_office`: see `sites.in_back_office`).
    """
    if site.custom_domain:
        record = host_cache.tenant_by_domain(site.host)
        if record is None or record.status == TenantStatus.DELETED:
            raise BadRequest("Unknown host.")  # not ours: a forged or misrouted Host header
    elif site.slug in RESERVED_SLUGS:  # never a shop, whatever the database says
        raise UnknownShop()
    else:
        record = host_cache.tenant_by_slug(site.slug or "")
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
    record = resolve_shop(site, back_office=in_back_office())
    _current_tenant.set(record)
    current_schema.set(record.schema)
    return None


def _leave_site(exc: BaseException | None) -> None:
    tokens = g.pop("_tenant_tokens", None)
    if tokens:
        current_schema.reset(tokens[1])
        _current_tenant.reset(tokens[0])


def init_app(app: Flask) -> None:
    # Registered before any blueprint, so a bad host stops here.
    app.before_request_funcs.setdefault(None, []).insert(0, _enter_site)
    app.teardown_request(_leave_site)
    host_cache.init_app(app)
