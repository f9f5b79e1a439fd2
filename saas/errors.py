"""Error pages: a clear page for every HTTP error, in the shop's own theme for a missing
page inside a shop, and a maintenance page for a shop whose schema is broken."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g, render_template
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from saas.tenancy import ShopClosed, ShopUnavailable, UnknownShop, get_current_tenant
from saas.tenancy.sites import Site, absolute_url, public_host
from saas.theming import render_theme

log = logging.getLogger(__name__)


def _missing_schema(error: DBAPIError) -> Any:
    """A tenant whose schema is gone or unmigrated gets a clear page, not a traceback."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    tenant = get_current_tenant()
    if tenant is None or sqlstate not in {"3F000", "42P01"}:  # invalid schema / no table
        raise error
    log.error(
        "schema %s of shop %s is missing or incomplete: %s", tenant.schema, tenant.slug, error.orig
    )
    return error_page(ShopUnavailable())


def _size(limit: int) -> str:
    return f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit / 1024:g} KB"


def error_page(error: HTTPException) -> Any:
    site: Site | None = getattr(g, "site", None)
    tenant = get_current_tenant()
    if tenant is not None and error.code == 404:
        # A missing page inside a shop looks like the shop.
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
    app.register_error_handler(DBAPIError, _missing_schema)
    for code in (400, 403, 404, 405, 413, 429, 503):
        app.register_error_handler(code, error_page)
