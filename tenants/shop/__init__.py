"""The storefront shoppers see on `<slug>.<domain>`, rendered with the shop's theme."""

from __future__ import annotations

from typing import Any

from flask import abort, request, send_from_directory

from saas.sites import SiteBlueprint
from saas.tenancy import current_tenant
from saas.theming import get_theme, render_theme, themes
from tenants.services.catalog import active_products, product_by_handle

bp = SiteBlueprint("shop", __name__, site="shop")

PER_PAGE = 24


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_theme(current_tenant.theme, template, shop=current_tenant, **context), status


@bp.get("/")
def home() -> Any:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    products, total = active_products(page=page, per_page=PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    if page > pages:
        abort(404)
    return render("index.html", products=products, total=total, page=page, pages=pages)


@bp.get("/products/<handle>")
def product(handle: str) -> Any:
    item = product_by_handle(handle)
    if item is None:
        return render("404.html", status=404)
    return render("product.html", product=item)


@bp.get("/assets/<theme_name>/<path:filename>")
def theme_asset(theme_name: str, filename: str) -> Any:
    if theme_name not in themes():
        abort(404)
    return send_from_directory(get_theme(theme_name).path / "static", filename, max_age=3600)
