"""Which site a request is for, decided from its host before anything else runs.

One application serves three sites that share URL paths (each has its own `/`):

* the platform (`<SAAS_DOMAIN>`): marketing pages and merchant signup;
* the operator console (`<OPERATOR_SUBDOMAIN>.<SAAS_DOMAIN>`);
* shops (`<slug>.<SAAS_DOMAIN>` or a custom domain listed in `domains`).

Routing uses Werkzeug's host matching with the site *kind* in place of the host: each
blueprint's rules carry `host="platform" | "console" | "shop"`, and the URL adapter is
bound to the kind this module derives from the real host. URLs built for a rule of the
current site stay relative; absolute ones get the real host back (`SiteMapAdapter`).

A host that is none of these never reaches a view: it answers 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    current_app,
    has_request_context,
    request,
    send_from_directory,
)
from flask.sansio.blueprints import BlueprintSetupState
from flask.signals import request_started
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import MapAdapter

from saas import db
from saas.config import RESERVED_SLUGS

SiteKind = Literal["platform", "console", "shop"]
# Static files every door shares (the base stylesheet of `saas/templates/layout.html`).
SHARED_STATIC = (Path(__file__).parent.parent / "static").resolve()
SITE_ENVIRON_KEY = "saas.site"

_HOST_CHARS = re.compile(r"^[a-z0-9.-]+$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")


class InvalidSlug(ValueError):
    """A shop address that cannot be used; the message says why, for people."""


def validate_slug(slug: str) -> str:
    """Return `slug` if it can name a shop's subdomain, else raise `InvalidSlug`."""
    if not slug:
        raise InvalidSlug("A shop address is required.")
    if slug != slug.strip().lower():
        raise InvalidSlug("Use lowercase letters, digits and hyphens only.")
    if len(slug) < 3:
        raise InvalidSlug("A shop address needs at least 3 characters.")
    if len(slug) > 63:
        raise InvalidSlug("A shop address can have at most 63 characters.")
    if not _SLUG.match(slug):
        raise InvalidSlug(
            "Use lowercase letters, digits and hyphens only, starting and ending "
            "with a letter or digit."
        )
    if "--" in slug:
        raise InvalidSlug("A shop address cannot contain two hyphens in a row.")
    if slug in RESERVED_SLUGS:
        raise InvalidSlug(f"“{slug}” is reserved by the platform; please choose another.")
    return slug


@dataclass(frozen=True)
class Site:
    """The outcome of host classification for one request."""

    kind: SiteKind
    host: str  # normalised: lowercase, no port, no trailing dot
    port: str = ""
    slug: str | None = None  # for `<slug>.<domain>` hosts
    custom_domain: bool = False  # a shop reached through a custom domain
    www: bool = False  # `www.<domain>`, which redirects to the apex


def normalise_host(raw: str) -> tuple[str, str]:
    """Split a Host header into (host, port), lowercased; raise BadRequest if malformed."""
    raw = (raw or "").strip().lower()
    if not raw or len(raw) > 260:
        raise BadRequest("Missing or oversized Host header.")
    host, _, port = raw.rpartition(":") if raw.count(":") == 1 else (raw, "", "")
    if port and not (port.isdigit() and 0 < int(port) <= 65535):
        raise BadRequest("Malformed Host header.")
    host = host.rstrip(".")
    if not host or not _HOST_CHARS.match(host) or ".." in host:
        raise BadRequest("Malformed Host header.")
    if not all(_LABEL.match(label) for label in host.split(".")):
        raise BadRequest("Malformed Host header.")
    return host, port


def classify_host(raw_host: str, domain: str, operator_subdomain: str) -> Site:
    """Decide which site a host names. Custom domains are checked later, against the DB."""
    host, port = normalise_host(raw_host)
    if host == domain:
        return Site("platform", host, port)
    if host == f"www.{domain}":
        return Site("platform", host, port, www=True)
    if host == f"{operator_subdomain}.{domain}":
        return Site("console", host, port)
    suffix = f".{domain}"
    if host.endswith(suffix):
        label = host[: -len(suffix)]
        if "." in label:
            raise BadRequest("Unknown host.")
        return Site("shop", host, port, slug=label)
    return Site("shop", host, port, custom_domain=True)


class SiteBlueprint(Blueprint):
    """A blueprint whose every rule (its static route included) belongs to one site.

    `back_office`: a shop's back office, for its staff. It stays open when the shop is
    closed to shoppers (suspended, or unpaid past its grace period) so that the merchant
    can see why and sort it out, and a customer's session counts for nothing there.
    """

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        site: SiteKind,
        back_office: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, import_name, **kwargs)
        self.site = site
        self.back_office = back_office

    def send_static_file(self, filename: str) -> Response:
        """The door's own static file, else the platform's shared one (`saas/static`:
        the stylesheet every door's layout links)."""
        try:
            return super().send_static_file(filename)
        except NotFound:
            if self.static_folder and Path(self.static_folder).resolve() == SHARED_STATIC:
                raise
            max_age = current_app.get_send_file_max_age(filename)
            return send_from_directory(SHARED_STATIC, filename, max_age=max_age)

    def make_setup_state(
        self, app: Any, options: dict[str, Any], first_registration: bool = False
    ) -> BlueprintSetupState:
        state = super().make_setup_state(app, options, first_registration)
        add_url_rule = state.add_url_rule
        site = self.site

        def add_site_rule(
            rule: str, endpoint: str | None = None, view_func: Any = None, **opts: Any
        ):
            opts.setdefault("host", site)
            add_url_rule(rule, endpoint, view_func, **opts)

        state.add_url_rule = add_site_rule  # type: ignore[method-assign]
        return state


def in_back_office() -> bool:
    """Whether this request is for a shop's back office: its blueprint says so, or (a
    404 matches no blueprint) its path is under a back office's prefix."""
    if not has_request_context():
        return False
    blueprint = current_app.blueprints.get(request.blueprint or "")
    if blueprint is not None:
        return bool(getattr(blueprint, "back_office", False))
    for candidate in current_app.blueprints.values():
        prefix = candidate.url_prefix if getattr(candidate, "back_office", False) else None
        if prefix and (request.path == prefix or request.path.startswith(prefix + "/")):
            return True
    return False


class SiteMapAdapter(MapAdapter):
    """Writes real hosts where Werkzeug would write the site kind.

    Under host matching, Werkzeug puts the rule's `host` (here a site kind) into every
    absolute URL it makes: links built with `_external=True` or to another site, and
    the redirects it answers itself (a missing trailing slash). Both are rewritten.
    URLs within the current site stay relative, as Werkzeug builds them.
    """

    site_hosts: dict[str, str]

    def build(self, *args: Any, **kwargs: Any) -> str:
        return self._real_host(super().build(*args, **kwargs))

    def make_redirect_url(self, *args: Any, **kwargs: Any) -> str:
        return self._real_host(super().make_redirect_url(*args, **kwargs))

    def _real_host(self, url: str) -> str:
        # Only an absolute URL (`scheme://kind/...`) names a site; a relative one may
        # carry `//` in its query (`/search?q=a//b`), which is no host.
        if not _ABSOLUTE.match(url):
            return url
        scheme, _, rest = url.partition("//")
        kind, slash, path = rest.partition("/")
        host = self.site_hosts.get(kind)
        if host is None:
            raise LookupError(f"cannot link to the {kind} site from here")
        return f"{scheme}//{host}{slash}{path}"


class SaasFlask(Flask):
    """Flask with routing by site kind instead of by literal host, and each request one
    unit of work."""

    def full_dispatch_request(self) -> Response:
        """Flask's own steps, with the request's one commit or rollback between the view
        and the response: commit when the view (or a before-request hook) answered,
        roll back when it raised, before any error handler runs. Flask has no hook
        that can tell those two apart (`after_request` runs for both), hence the copy of
        these few lines."""
        self._got_first_request = True
        try:
            request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = self.preprocess_request()
            if rv is None:
                rv = self.dispatch_request()
            db.commit(closing=True)
        except Exception as e:
            db.rollback()
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        if request is None:
            return None
        cfg = self.config
        try:
            site = classify_host(
                request.environ.get("HTTP_HOST", ""), cfg["SAAS_DOMAIN"], cfg["OPERATOR_SUBDOMAIN"]
            )
        except BadRequest:
            request.environ[SITE_ENVIRON_KEY] = None
            raise
        request.environ[SITE_ENVIRON_KEY] = site
        adapter = self.url_map.bind_to_environ(request.environ, server_name=site.kind)
        adapter.__class__ = SiteMapAdapter  # same state, one overridden method
        adapter.site_hosts = site_hosts(self, site)  # type: ignore[attr-defined]
        return adapter


def public_host(app: Flask, host: str) -> str:
    """`host` with the port the platform is reached on, for absolute links."""
    port = app.config.get("PUBLIC_PORT") or ""
    return f"{host}:{port}" if port else host


def site_hosts(app: Flask, site: Site) -> dict[str, str]:
    domain = app.config["SAAS_DOMAIN"]
    hosts = {
        "platform": public_host(app, domain),
        "console": public_host(app, f"{app.config['OPERATOR_SUBDOMAIN']}.{domain}"),
    }
    if site.kind == "shop":
        hosts["shop"] = f"{site.host}:{site.port}" if site.port else site.host
    return hosts


def shop_host(app: Flask, slug: str) -> str:
    """The public host of a shop's subdomain (with port in development)."""
    return public_host(app, f"{slug}.{app.config['SAAS_DOMAIN']}")


def absolute_url(app: Flask, host: str, path: str = "/") -> str:
    return f"{app.config['PREFERRED_URL_SCHEME']}://{host}{path}"
