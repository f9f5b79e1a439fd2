"""Per-shop page cache for anonymous storefront visitors, and ETags on every page.

A page is kept in Redis under `t:<tenant id>:page:<version>:<theme>:<url>`. The version
(`t:<id>:page-version`) moves on once any unit of work that changed what the shop's
pages show commits (`saas.page_cache`), so a cached page is never older than the last
change; nothing is deleted, old versions simply expire.

Only pages that are the same for every visitor are kept: GET/HEAD on a launched shop,
no signed-in user, no storefront password, nothing else in the session (a cart, a
flash), a 200 that sets no cookie, embeds no CSRF token and is not `private`/`no-store`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from werkzeug.exceptions import BadRequest
from werkzeug.http import parse_cookie, parse_etags, unquote_etag

from saas import security
from saas.cache import redis_client
from saas.config import RESERVED_SLUGS
from saas.page_cache import lua_version_key, version_key
from saas.tenancy import current_tenant, host_cache
from saas.tenancy.sites import classify_host
from tenants.analytics import buffer as visit_buffer

log = logging.getLogger(__name__)

CACHE_CONTROL = "public, max-age=0, must-revalidate"
# Session keys that say nothing about who the visitor is. A CSRF token alone does not
# make a page personal; a page that *embeds* one is refused separately.
ANONYMOUS_KEYS = frozenset({"_permanent", "csrf_token"})
# Files have their own validators and long max-age; search results are not kept (any
# query string would get its own entry).
UNCACHED_ENDPOINTS = frozenset({"shop.theme_asset", "shop.media", "shop.password", "shop.search"})
# Headers that belong to one response, not to the page.
_NOT_STORED = frozenset({"set-cookie", "content-length", "date"})
_MAX_URL_IN_KEY = 200


def page_version() -> int | None:
    """The current shop's page version (None if Redis cannot say), once per request."""
    if "page_version" not in g:
        try:
            g.page_version = int(redis_client().get(version_key(current_tenant.id)) or 0)
        except Exception:
            log.warning("page cache unavailable; shop data read afresh", exc_info=True)
            g.page_version = None
    return g.page_version


def enabled() -> bool:
    return bool(current_app.config["PAGE_CACHE_ENABLED"])


def _page_url(environ: dict[str, Any]) -> str:
    """The page's URL as its key ends, straight from the WSGI environ (cheap, and one
    function for Flask's hook and `FrontCache`, so both always compute the same key)."""
    url = "{}://{}{}{}?{}".format(
        environ.get("wsgi.url_scheme", "http"),
        environ.get("HTTP_HOST", ""),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
    )
    if len(url) > _MAX_URL_IN_KEY:
        url = "sha256:" + hashlib.sha256(url.encode()).hexdigest()
    return url


def _page_key_parts() -> tuple[str, str]:
    """The page key around its version: (`t:<id>:page:`, `:<theme>:<url>`)."""
    return f"t:{current_tenant.id}:page:", f":{current_tenant.theme}:{_page_url(request.environ)}"


# Version and page in one round trip (the hit path is a few Redis calls and no SQL).
_GET_PAGE = """
local version = redis.call('GET', KEYS[1]) or '0'
return {version, redis.call('GET', ARGV[1] .. version .. ARGV[2])}
"""


def _anonymous() -> bool:
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        return False
    return not (set(session.keys()) - ANONYMOUS_KEYS)


def _may_use_cache() -> bool:
    return (
        enabled()
        and request.method in ("GET", "HEAD")
        and request.endpoint not in UNCACHED_ENDPOINTS
        and current_tenant.launched
        and _anonymous()
    )


def _lookup() -> Response | None:
    """Before the view: answer from the cache when this visitor may share pages."""
    g.page_cache_key = None
    if not _may_use_cache():
        return None
    prefix, suffix = _page_key_parts()
    try:
        script = redis_client().register_script(_GET_PAGE)  # EVALSHA, EVAL once
        version, hit = script(keys=[version_key(current_tenant.id)], args=[prefix, suffix])
    except Exception:
        log.warning("page cache unavailable; rendering uncached", exc_info=True)
        return None
    g.page_version = int(version)
    if hit is None:
        g.page_cache_key = f"{prefix}{int(version)}{suffix}"
        return None
    head, _, body = hit.partition(b"\n")
    response = Response(body, headers=json.loads(head))
    g.page_cache_hit = True
    return _conditional(_cacheable_headers(response))


def _cacheable_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.vary.add("Cookie")
    return response


def _conditional(response: Response) -> Response:
    """A strong ETag from the body, and 304 when the visitor already has it."""
    if "ETag" not in response.headers:
        response.add_etag()
    response.make_conditional(request)  # turns this very response into a 304 if due
    return response


def _storable(response: Response) -> bool:
    cache_control = response.headers.get("Cache-Control", "").lower()
    return (
        response.status_code == 200
        and not response.is_streamed
        and not response.direct_passthrough
        and "Set-Cookie" not in response.headers
        and not session.modified  # the session cookie would be written after this hook
        and "private" not in cache_control
        and "no-store" not in cache_control
        and current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") not in g
    )


def _store(response: Response) -> Response:
    """After the view: keep a shareable page, and give every page an ETag."""
    if g.get("page_cache_hit"):
        return response
    key = g.get("page_cache_key")
    if key is not None and _storable(response):
        _cacheable_headers(response)
        security.apply(response)  # stored with the page: FrontCache skips Flask
        response.add_etag(overwrite=True)  # stored: a hit need not hash the body again
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _NOT_STORED]
        # Content-Type first: FrontCache's script tells an HTML page (counted as a visit)
        # from its first bytes, without scanning the headers.
        headers.sort(key=lambda kv: kv[0].lower() != "content-type")
        try:
            redis_client().set(
                key,
                json.dumps(headers).encode() + b"\n" + response.get_data(),
                ex=current_app.config["PAGE_CACHE_TTL"],
            )
        except Exception:
            log.warning("could not write the page cache", exc_info=True)
    if (
        request.method in ("GET", "HEAD")
        and response.status_code == 200
        and not response.is_streamed
        and not response.direct_passthrough
    ):
        return _conditional(response)
    return response


# --- answering hits before Flask runs ------------------------------------------------------

# The host's shop (the tenancy host-cache entry), its page version and the page, in one
# round trip. The script derives the last two keys itself, which needs a single Redis
# node -- as the rest of the platform does. Only an active, launched shop qualifies,
# and none with a billing closing time: a shop past due or closed goes through Flask,
# whose tenancy check closes it to the second (its own page cache still serves it).
# A hit comes back with its shop's id, so that an HTML page is counted as a visit
# (`tenants.analytics.buffer`) without another lookup. A stored page's headers start
# with its Content-Type (`_store`), so its first bytes say whether it is HTML.
_HTML_HEAD = b'[["Content-Type", "text/html'
_FRONT_GET = (
    host_cache.lua_open_shop()
    + f"""
local id = string.format('%d', {host_cache.lua_shop_field("id")})
local version = redis.call('GET', {lua_version_key("id")}) or '0'
local page = redis.call('GET', 't:' .. id .. ':page:' .. version .. ':'
  .. {host_cache.lua_shop_field("theme")} .. ':' .. ARGV[1])
if not page then return false end
return {{page, id}}
"""
)


class FrontCache:
    """WSGI middleware: replay a stored page to an anonymous visitor without Flask.

    A hit through Flask still pays for routing, the session, host resolution and the
    blueprint hooks: about a quarter of a bare route's throughput. Here a hit costs one
    Redis call and no Werkzeug request or response objects. What may be stored is
    decided by Flask's hooks above only; this just replays it, and only to requests
    with no session or remember-me cookie (anything else goes through Flask and its
    fuller checks). The key is the same one `_lookup`
    reads, reached through the host cache, so a host that changes hands, a suspended or
    relaunched shop or a new theme is honoured as soon as Flask's own path would.
    """

    def __init__(self, app: Flask, wsgi_app: Any) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._script: Any = None
        self._visits: visit_buffer.VisitBuffer | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method = environ.get("REQUEST_METHOD")
        if (
            method in ("GET", "HEAD")
            and self.app.config.get("PAGE_CACHE_ENABLED")
            and "HTTP_RANGE" not in environ
            and not self._personal(environ.get("HTTP_COOKIE"))
        ):
            key = self._host_key(environ.get("HTTP_HOST", ""))
            stored = self._lookup(key, environ, count=method == "GET") if key else None
            if stored:
                return self._replay(stored, environ, start_response, head=method == "HEAD")
        return self.wsgi_app(environ, start_response)

    def _personal(self, cookie_header: str | None) -> bool:
        if not cookie_header:
            return False
        cookies = parse_cookie(cookie_header)
        config = self.app.config
        return config["SESSION_COOKIE_NAME"] in cookies or (
            config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies
        )

    @functools.lru_cache(maxsize=4096)  # noqa: B019 -- one instance per app, lives as long
    def _host_key(self, raw_host: str) -> str | None:
        """The host-cache key of the shop a Host header names; None if it names no shop."""
        config = self.app.config
        try:
            site = classify_host(raw_host, config["SAAS_DOMAIN"], config["OPERATOR_SUBDOMAIN"])
        except BadRequest:
            return None
        if site.kind != "shop" or site.slug in RESERVED_SLUGS:
            return None
        return host_cache.key_for(site)

    def _lookup(self, host_key: str, environ: dict[str, Any], *, count: bool) -> bytes | None:
        try:
            if self._script is None:
                self._script = self.app.extensions["redis"].register_script(_FRONT_GET)
            hit = self._script(keys=[host_key], args=[_page_url(environ)])
        except Exception:  # Flask's path logs the outage; here it only means "no hit"
            return None
        if not hit:
            return None
        page, tenant_id = hit
        if count and page.startswith(_HTML_HEAD) and self.app.config.get("ANALYTICS_ENABLED", True):
            if self._visits is None:
                self._visits = visit_buffer.of(self.app)
            if self._visits is not None:
                self._visits.add(int(tenant_id), environ)
        return page

    @staticmethod
    def _replay(stored: bytes, environ: dict[str, Any], start_response: Any, *, head: bool) -> Any:
        raw_headers, _, body = stored.partition(b"\n")
        headers = [(name, value) for name, value in json.loads(raw_headers)]
        etag = next((value for name, value in headers if name == "ETag"), None)
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if (
            etag
            and if_none_match
            and parse_etags(if_none_match).contains_weak(unquote_etag(etag)[0])
        ):
            start_response("304 NOT MODIFIED", [h for h in headers if h[0] != "Content-Type"])
            return []
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [] if head else [body]


def init_app(app: Flask) -> None:
    """Answer stored pages before Flask runs (`FrontCache`, outermost but for ProxyFix)."""
    if not isinstance(app.wsgi_app, FrontCache):
        app.wsgi_app = FrontCache(app, app.wsgi_app)  # type: ignore[method-assign]


def register(bp: Any) -> None:
    """Hook the cache into the storefront blueprint (after its launch gate)."""
    bp.before_request(_lookup)
    bp.after_request(_store)
