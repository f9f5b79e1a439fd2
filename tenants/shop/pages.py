"""Static pages, the newsletter form, and what every storefront layout is given.

The layout context (the shop's look, menus, logo, SEO basics) is built once per page by
`layout_context`, registered with `saas.theming` so every themed page (404s too) has it.
Staff who pressed "Preview" in the back office see the draft look; sessions are bound to
their host, so the flag can never show one shop's draft on another shop.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, g, request, session, url_for
from flask_login import current_user

from saas.extensions import csrf
from saas.ratelimit import limiter
from saas.security import same_origin
from saas.tenancy import current_tenant, get_current_tenant
from saas.tenancy.sites import absolute_url
from saas.theming import Theme, css_variables, set_context_provider
from tenants.content import services as content
from tenants.content.services import PREVIEW_KEY
from tenants.shop import bp, render
from tenants.shop.snapshot import shop_snapshot
from tenants.staff.models import Area

# The session key the back office sets when staff start a preview of the draft look.
SOCIAL = (("instagram", "Instagram"), ("facebook", "Facebook"), ("x", "X"), ("tiktok", "TikTok"))


def previewing() -> bool:
    """Draft look only for signed-in staff of this shop who may edit content and asked."""
    return bool(
        session.get(PREVIEW_KEY)
        and current_user.is_authenticated
        and current_user.can(str(Area.CONTENT))
    )


def current_look(theme: Theme) -> dict[str, Any]:
    """The look this request renders with: the draft for staff previewing it."""
    if previewing():
        key = ("draft", theme.name)
        if g.get("_shop_draft_key") != key:
            g._shop_draft = content.look(theme, preview=True)
            g._shop_draft_key = key
        return g._shop_draft
    return shop_snapshot(theme).look


def canonical_url(path: str | None = None) -> str:
    """This page's address on the shop's own host, without the query string.

    `request.host` is the host (and port) the shop was reached on, already checked
    against the shop's addresses before any view runs, so it is used as it is.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return absolute_url(app, request.host, path or request.path)


def layout_context(theme: Theme) -> dict[str, Any]:
    if get_current_tenant() is None:
        return {}
    preview = previewing()
    look = current_look(theme)
    settings = look["settings"]
    snapshot = shop_snapshot(theme)
    logo_url = url_for("shop.media", filename=snapshot.logo_file) if snapshot.logo_file else None
    social = [(label, settings[key]) for key, label in SOCIAL if settings.get(key)]
    home = canonical_url("/")
    organization: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": current_tenant.name,
        "url": home,
    }
    if logo_url:
        organization["logo"] = canonical_url(logo_url)
    if social:
        organization["sameAs"] = [url for _, url in social]
    return {
        "look": look,
        "settings": settings,
        "theme_css": css_variables(settings),
        "menus": snapshot.menus,
        "currency": snapshot.currency,
        "logo_url": logo_url if settings.get("show_logo", True) else None,
        "favicon_url": logo_url if settings.get("logo_favicon") else None,
        "social_links": social,
        # The footer's "Contact" and "Information" columns.
        "contact": {
            "email": snapshot.contact_email,
            "phone": settings.get("phone", ""),
            "address": snapshot.address_lines,
        },
        "page_links": [
            (title, url_for("shop.page", handle=handle)) for title, handle in snapshot.pages
        ],
        "canonical": canonical_url(),
        "home_url": home,
        "organization": organization,
        "theme_preview": preview,
    }


@bp.record_once
def _register(state: Any) -> None:
    set_context_provider(state.app, layout_context)


@bp.after_request
def _private_preview(response: Response) -> Response:
    # A draft is for this member of staff only: no shared cache may keep any page of it.
    if previewing():
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/pages/<handle>")
def page(handle: str) -> Any:
    item = content.published_page(handle)
    if item is None:
        return render("404.html", status=404)
    breadcrumbs = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Home", "item": canonical_url("/")},
            {"@type": "ListItem", "position": 2, "name": item.title, "item": canonical_url()},
        ],
    }
    return render("page.html", page=item, breadcrumbs=breadcrumbs)


@bp.post("/newsletter")
@csrf.exempt  # the form sits on cached pages shared by every visitor: no per-visitor token
def newsletter() -> Any:
    if not same_origin(request):
        abort(403)
    email = request.form.get("email", "")
    if limited := limiter().hit("newsletter"):
        return render("newsletter.html", status=429, error=limited.message, email=email)
    error = content.subscribe(email)
    if error:  # refused before writing anything
        return render("newsletter.html", status=400, error=error, email=email)
    return render("newsletter.html", error=None, email="")
