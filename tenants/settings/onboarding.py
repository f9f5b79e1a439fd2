"""What happens right after a shop is created."""

from __future__ import annotations

from flask import current_app

from saas.mail import send_email
from saas.tenancy import current_tenant
from saas.tenancy.sites import absolute_url, shop_host


def send_welcome_email(to: str) -> None:
    """Job: welcome the owner of the current shop (idempotent per shop)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    shop_url = absolute_url(app, shop_host(app, current_tenant.slug))
    send_email(
        to,
        f"Welcome to your new shop, {current_tenant.name}",
        f"Hello,\n\nYour shop “{current_tenant.name}” is live at {shop_url}\n\n"
        f"Next steps: add your first product, pick a theme and set up payments.\n\n"
        f"— The Storefront team\n",
        dedupe_key="welcome",
    )
