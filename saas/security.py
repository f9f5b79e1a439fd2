"""Response headers every site sends, and the request refusals every site shares."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import Flask, Request, Response, request
from werkzeug.exceptions import BadRequest

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


# A strict policy, as a second line of defence behind escaping and nh3: scripts and
# styles only from the page's own host, plus the page's own inline blocks by their hash.
# Hashes rather than nonces because the front cache serves one stored page to many
# visitors, and a nonce sent twice is no nonce. No `form-action`: Chrome applies it to
# the redirect after a form too, and checkout's POST ends on Stripe's host.
_POLICY = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self'{styles}; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'self'"
)
_INLINE = re.compile(rb"<(script|style)\b([^>]*)>(.*?)</\1\s*>", re.S | re.I)
_NOT_RUN = re.compile(rb"""\bsrc\s*=|type\s*=\s*["']?application/(?:ld\+)?json""", re.I)


def content_security_policy(html: bytes) -> str:
    """The policy for one HTML page: its inline scripts and styles allowed by hash.

    Written by hand because it reads the page as rendered: a template-level nonce
    helper (flask-talisman's) cannot serve pages that the front cache shares. JSON data
    blocks and scripts with `src` need no hash (one is never run, the other is 'self').
    """
    scripts: list[str] = []
    styles: list[str] = []
    for tag, attributes, body in _INLINE.findall(html):
        if tag.lower() == b"script" and _NOT_RUN.search(attributes):
            continue
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        (scripts if tag.lower() == b"script" else styles).append(f" 'sha256-{digest}'")
    return _POLICY.format(
        scripts="".join(dict.fromkeys(scripts)), styles="".join(dict.fromkeys(styles))
    )


def apply(response: Response) -> None:
    """Also called by the storefront's page cache, which stores a page with its headers
    and answers it again before Flask runs."""
    headers = response.headers
    for name, value in HEADERS.items():
        headers.setdefault(name, value)
    if (
        "Content-Security-Policy" not in headers
        and response.mimetype == "text/html"
        and not response.is_streamed
        and not response.direct_passthrough
    ):
        headers["Content-Security-Policy"] = content_security_policy(response.get_data())


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


def refuse_nul_bytes() -> None:
    """A NUL byte (`%00`) in the path, the query or a posted form field: 400.

    PostgreSQL text cannot hold one (psycopg raises on it) and no person can type one
    (browsers drop it), so only a hand-made request carries it: refused once, here,
    before any hook or view reads the request, instead of in every lookup by handle,
    token or search and every form. Other control characters are refused by the forms
    themselves, with a message beside the field. Uploaded files may hold any byte.
    """
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in value for value in values):
        raise BadRequest(
            "The request holds a NUL character (%00), which no address or form field may "
            "contain. Remove it and try again."
        )


def _headers(response: Response) -> Response:
    apply(response)
    return response


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_bytes)
    app.after_request(_headers)
