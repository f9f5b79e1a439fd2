"""Tenancy: from a request's host to a merchant's shop, and the shop's own schema.

* `sites`: which site a host names (platform, console or a shop), routing by site;
* `resolve`: the shop a shop site names, selected for the request;
* `host_cache`: that lookup's Redis cache, shared with the storefront's front cache;
* `context`: `current_tenant`, and `tenant_context()`, the one way into a shop
  outside a request (each block one unit of work);
* `schema`, `provisioning`, `migrations`: making, filling, upgrading and dropping
  shops' schemas.

What the rest of the platform needs is re-exported here.
"""

from saas.tenancy.context import (
    RECORD_COLUMNS,
    TenantRecord,
    current_tenant,
    get_current_tenant,
    tenant_context,
)
from saas.tenancy.resolve import ShopClosed, ShopUnavailable, UnknownShop, resolve_shop

__all__ = [
    "RECORD_COLUMNS",
    "ShopClosed",
    "ShopUnavailable",
    "TenantRecord",
    "UnknownShop",
    "current_tenant",
    "get_current_tenant",
    "resolve_shop",
    "tenant_context",
]
