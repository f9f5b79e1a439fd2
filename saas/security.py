"""Response headers every site sends."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Request, Response
from werkzeug.datastructures import Headers

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def apply(headers: Headers) -> None:
    """Also called by the storefront's page cache, which answers before Flask runs."""
    for name, value in HEADERS.items():
        headers.setdefault(name, value)


def same_origin(request: Request) -> bool:
    """Whether a browser says this request comes from a page of the same host.

    For the few storefront forms that carry no CSRF token so that the pages showing
    them can be cached and shared (OWASP's "verify origin with standard headers").
    Browsers send `Origin` on every cross-site POST; without it, `Referer` is checked;
    with neither it is no browser being tricked, so there is nothing to forge.
    """
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return True
    parts = urlsplit(source)
    return parts.scheme == request.scheme and parts.netloc.lower() == request.host.lower()


def _headers(response: Response) -> Response:
    apply(response.headers)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_headers)
