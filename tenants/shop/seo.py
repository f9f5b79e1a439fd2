"""Per-shop `sitemap.xml` and `robots.txt`, on whichever host the shop was reached by.

URLs are absolute on the request's own host (the shop's subdomain or its custom
domain), like the canonical links in its pages. Before launch the shop asks crawlers
to stay away entirely and has no sitemap (the launch gate shows "coming soon" there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from flask import Response, url_for
from sqlalchemy import select

from saas.db import db
from saas.tenancy import current_tenant
from tenants.catalog.models import Product, ProductStatus
from tenants.collections.models import Collection
from tenants.collections.services import ALL_HANDLE
from tenants.content.models import Page
from tenants.shop import bp
from tenants.shop.pages import canonical_url

# The sitemap protocol's limit for one file.
MAX_URLS = 50_000
DISALLOWED = ("/admin", "/search", "/password")


def _url(loc: str, lastmod: datetime | None) -> str:
    mod = f"<lastmod>{lastmod.isoformat(timespec='seconds')}</lastmod>" if lastmod else ""
    return f"<url><loc>{escape(loc)}</loc>{mod}</url>"


def sitemap_entries() -> list[tuple[str, datetime | None]]:
    """(absolute URL, last modified) of every page a shopper can reach, home first."""
    products = db.session.execute(
        select(Product.handle, Product.updated_at)
        .where(Product.status == ProductStatus.ACTIVE)
        .order_by(Product.id)
        .limit(MAX_URLS - 2)  # the home page and /collections/all come first
    ).all()
    pages = db.session.execute(
        select(Page.handle, Page.updated_at)
        .where(Page.published.is_(True))
        .order_by(Page.id)
        .limit(max(0, MAX_URLS - 2 - len(products)))
    ).all()
    # Collections by their first page only (pages 2+ and sorts are the same list again);
    # `all` is listed once, whether it is every product or the merchant's own.
    handles = db.session.scalars(
        select(Collection.handle)
        .where(Collection.handle != ALL_HANDLE)
        .order_by(Collection.id)
        .limit(max(0, MAX_URLS - 2 - len(products) - len(pages)))
    ).all()
    changed = [when for _, when in (*products, *pages) if when is not None]
    latest = max(changed) if changed else None
    entries: list[tuple[str, datetime | None]] = [(canonical_url("/"), latest)]
    if products:
        entries.append((canonical_url(url_for("shop.collection", handle=ALL_HANDLE)), latest))
    # No lastmod: a collection changes whenever any of its products does.
    entries += [(canonical_url(url_for("shop.collection", handle=h)), None) for h in handles]
    entries += [(canonical_url(url_for("shop.product", handle=h)), when) for h, when in products]
    entries += [(canonical_url(url_for("shop.page", handle=h)), when) for h, when in pages]
    return entries


@bp.get("/sitemap.xml")
def sitemap() -> Any:
    body = "".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n',
            *(_url(loc, when) + "\n" for loc, when in sitemap_entries()),
            "</urlset>\n",
        ]
    )
    return Response(body, mimetype="application/xml")


@bp.get("/robots.txt")
def robots() -> Any:
    if not current_tenant.launched:
        lines = ["User-agent: *", "Disallow: /"]
    else:
        lines = [
            "User-agent: *",
            "Allow: /",
            *(f"Disallow: {path}" for path in DISALLOWED),
            f"Sitemap: {canonical_url(url_for('shop.sitemap'))}",
        ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")
