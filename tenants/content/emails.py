"""Emails in the shop's own look: one place that renders `emails/<name>.html` through
the shop's theme (`saas.theming.render_email`, falling back to `base`), with what every
email's frame shows: the shop's name, its logo and its published colours and fonts.

A domain that sends a themed email passes its own data (`tenants.reviews.emails` its
lines to review) and sends the result as the HTML part beside its text. Rendered from
jobs: every address in it is absolute, on the shop's own host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import current_app

from saas.tenancy import current_tenant
from saas.tenancy.sites import absolute_url, shop_host
from saas.theming import get_theme, render_email
from tenants.content.services import look
from tenants.settings.services import get_settings


def shop_url(path: str = "/") -> str:
    """An absolute address on the current shop's host (works from a job too)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return absolute_url(app, shop_host(app, current_tenant.slug), path)


def media_url(filename: str) -> str:
    """A file of the shop's media folder (a product picture, the logo), for an email."""
    return shop_url("/media/" + quote(filename))


def render(name: str, **context: Any) -> str:
    """The HTML of `emails/<name>.html` in the shop's theme and published look."""
    theme = get_theme(current_tenant.theme)
    settings = look(theme)["settings"]
    logo_file = get_settings().logo_file
    show_logo = bool(logo_file) and settings.get("show_logo", True)
    return render_email(
        theme.name,
        f"emails/{name}.html",
        settings=settings,
        shop_name=current_tenant.name,
        home_url=shop_url("/"),
        logo_url=media_url(logo_file) if show_logo and logo_file else None,
        **context,
    )
