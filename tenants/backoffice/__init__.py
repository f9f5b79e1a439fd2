"""The merchant's back office under `/admin` on the shop's own host.

Every view declares who may open it (`tenants.backoffice.access`); the guard below
enforces that before any view runs.
"""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from saas.db import db
from saas.outbox import OutboxMessage
from saas.tenancy import current_tenant
from saas.tenancy.sites import SiteBlueprint
from tenants.backoffice.access import can_open, guard, requires
from tenants.staff.models import Area

bp = SiteBlueprint(
    "backoffice",
    __name__,
    site="shop",
    back_office=True,
    url_prefix="/admin",
    template_folder="templates",  # templates/backoffice/*.html, beside the views
    static_folder="static",
    static_url_path="/static",
)
bp.before_request(guard)


# The back-office navigation: (endpoint, label). Links show only to people who may open them.
NAV = [
    ("backoffice.home", "Home"),
    ("backoffice.products", "Products"),
    ("backoffice.collections_list", "Collections"),
    ("backoffice.discounts", "Discounts"),
    ("backoffice.orders", "Orders"),
    ("backoffice.customers", "Customers"),
    ("backoffice.themes", "Themes"),
    ("backoffice.analytics", "Analytics"),
    ("backoffice.staff", "Staff"),
    ("backoffice.settings", "Settings"),
    ("backoffice.billing", "Billing"),
]


@bp.context_processor
def _layout_context() -> dict[str, object]:
    return {"admin_nav": NAV, "can_open": can_open, "current_tenant": current_tenant}


@bp.get("/outbox")
@requires(Area.SETTINGS)
def outbox() -> str:
    """The shop's sent email (every message is kept, whether or not SMTP is set up)."""
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(50)
    ).all()
    return render_template("backoffice/outbox.html", messages=messages, shop=current_tenant)


# View modules register their routes on `bp` (imported last: they import `bp`).
from tenants.backoffice import (  # noqa: E402
    account,  # login, logout, password reset, own account, hand-off entry
    areas,  # analytics
    billing,  # plan, invoices, subscription changes
    catalog,  # products
    collections,  # collections of products
    customers,  # customers and their accounts
    discounts,  # discount codes, automatic discounts
    home,  # dashboard
    online_store,  # themes, homepage sections, menus, pages
    orders,  # orders: list, order page, fulfilment, refunds, cancellation
    payments,  # payment methods, Stripe account
    product_csv,  # product CSV import and export
    settings,  # shop settings, launch
    shipping,  # shipping zones and rates, taxes
    staff,  # staff list, invitations, roles
)

__all__ = [
    "account",
    "areas",
    "billing",
    "bp",
    "catalog",
    "collections",
    "customers",
    "discounts",
    "home",
    "online_store",
    "orders",
    "payments",
    "product_csv",
    "settings",
    "shipping",
    "staff",
]
