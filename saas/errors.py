"""Error pages: a clear page for every HTTP error, in the shop's own theme for a missing
page inside a shop, and a maintenance page for a shop whose schema is broken."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, redirect, render_template, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from saas import uploads
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


def _too_large(error: HTTPException) -> Any:
    """A body over MAX_CONTENT_LENGTH, refused by Werkzeug (413) before any view reads it.

    Files up to a few times the upload limit never come here: their view reads them and
    answers with the form and the file's size (saas/uploads.py), which keeps what else
    was typed. Reading a far larger body just to re-render would defeat the cap, so an
    upload is sent back to the form it came from (its Referer, on this host) with the
    message; only a post with no page of ours to go back to gets the error page."""
    size = request.content_length or 0
    message = uploads.too_large(size) if size else "What you sent is too large."
    back = request.referrer or ""
    if request.mimetype == "multipart/form-data" and _same_host(back):
        flash(message, "error")
        return redirect(back, code=303)
    return _page(error, f"{message} Go back and choose a smaller file.")


def _same_host(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.netloc == request.host


def error_page(error: HTTPException) -> Any:
    if error.code == 413:
        return _too_large(error)
    return _page(error, error.description)


def _page(error: HTTPException, message: str | None) -> Any:
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
        message=message,
        unknown_shop=isinstance(error, UnknownShop),
        platform_url=absolute_url(app, public_host(app, app.config["SAAS_DOMAIN"])),
        site=site,
    )
    return body, error.code


def init_app(app: Flask) -> None:
    app.register_error_handler(DBAPIError, _missing_schema)
    for code in (400, 403, 404, 405, 413, 429, 503):
        app.register_error_handler(code, error_page)
