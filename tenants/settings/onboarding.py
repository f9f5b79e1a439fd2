"""What happens right after a shop is created."""

from __future__ import annotations

from flask import current_app

from saas.mail import send_email
from saas.tenancy import current_tenant
from saas.tenancy.sites import absolute_url, shop_host


def welcome_text(name: str, shop_url: str, admin_url: str, *, launched: bool) -> str:
    """The welcome email's body: what is true of the shop when it is sent."""
    if launched:
        state = f"Your shop “{name}” is live at {shop_url}"
        steps = "Your back office is at"
    else:
        # A signup opens "coming soon": it sells only once the merchant launches it.
        state = (
            f"Your shop “{name}” is created. Until you launch it, visitors to {shop_url} "
            "see a “Coming soon” page."
        )
        steps = (
            "To start selling, add a product, choose how shoppers pay, review your "
            "shipping rate, then launch your shop from the checklist at"
        )
    return f"Hello,\n\n{state}\n\n{steps} {admin_url}\n\n— The Storefront team\n"


def send_welcome_email(to: str) -> None:
    """Job: welcome the owner of the current shop (idempotent per shop)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    host = shop_host(app, current_tenant.slug)
    send_email(
        to,
        f"Welcome to your new shop, {current_tenant.name}",
        welcome_text(
            current_tenant.name,
            absolute_url(app, host),
            absolute_url(app, host, "/admin/"),
            launched=current_tenant.launched,
        ),
        dedupe_key="welcome",
    )
