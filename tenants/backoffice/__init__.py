"""The merchant's back office under `/admin` on the shop's own host.

Every view declares who may open it (`tenants.backoffice.access`); the guard below
enforces that before any view runs.
"""

from __future__ import annotations

from flask import Response, abort, current_app, render_template
from sqlalchemy import select

from saas.db import db
from saas.outbox import OutboxMessage
from saas.tenancy import current_tenant
from saas.tenancy.sites import SiteBlueprint
from tenants.backoffice.access import can_open, guard, requires
from tenants.inbox import conversations as inbox_conversations
from tenants.orders import attention
from tenants.reviews import services as review_services
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
    ("backoffice.inbox", "Inbox"),
    ("backoffice.customers", "Customers"),
    ("backoffice.reviews", "Reviews"),
    ("backoffice.themes", "Themes"),
    ("backoffice.analytics", "Analytics"),
    ("backoffice.staff", "Staff"),
    ("backoffice.settings", "Settings"),
    ("backoffice.billing", "Billing"),
]


# What a navigation badge counts, said to screen readers after the number.
BADGE_WORDS = {
    "backoffice.orders": "open",
    "backoffice.inbox": "unread",
    "backoffice.reviews": "waiting",
}


def nav_badge(endpoint: str) -> int:
    """The number a navigation link shows beside its label (0: none): on Orders, the
    orders waiting on the merchant, on Inbox the unread conversations, on Reviews the
    reviews waiting for approval, so a new one is noticed from any page."""
    if endpoint not in NAV_BADGES or not can_open(endpoint):
        return 0
    return NAV_BADGES[endpoint]()


NAV_BADGES = {
    "backoffice.orders": attention.open_count,
    "backoffice.inbox": inbox_conversations.unread_count,
    "backoffice.reviews": review_services.pending_count,
}


@bp.context_processor
def _layout_context() -> dict[str, object]:
    return {
        "admin_nav": NAV,
        "can_open": can_open,
        "current_tenant": current_tenant,
        "nav_badge": nav_badge,
        "badge_words": BADGE_WORDS,
    }


def outbox_open() -> bool:
    """The outbox page is a development tool: it shows every message in full, password
    reset and invitation links included, so production has none."""
    return current_app.config["SAAS_ENV"] != "production"


def outbox_linked() -> bool:
    """Settings links the outbox where it is the mail transport: development with no
    SMTP server, where email goes nowhere else."""
    return outbox_open() and not current_app.config["SMTP_URL"]


@bp.get("/outbox")
@requires(Area.SETTINGS)
def outbox() -> str:
    """The shop's sent email (every message is kept, whether or not SMTP is set up)."""
    if not outbox_open():
        abort(404)
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(50)
    ).all()
    return render_template("backoffice/outbox.html", messages=messages, shop=current_tenant)


# An email's HTML is shown as its own document with a policy of its own: sandboxed (no
# script, no form, an origin of its own), the inline styles emails need and the
# pictures they link, nothing else. The back office's policy would strip its styles.
EMAIL_PREVIEW_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; "
    "frame-ancestors 'self'"
)


@bp.get("/outbox/<int:message_id>/html")
@requires(Area.SETTINGS)
def outbox_html(message_id: int) -> Response:
    """One message's HTML part, as the recipient's mail client would show it."""
    message = db.session.get(OutboxMessage, message_id) if outbox_open() else None
    if message is None or not message.html_body:
        abort(404)
    return Response(
        message.html_body,
        mimetype="text/html",
        headers={"Content-Security-Policy": EMAIL_PREVIEW_POLICY, "Cache-Control": "no-store"},
    )


# View modules register their routes on `bp` (imported last: they import `bp`).
from tenants.backoffice import (  # noqa: E402
    account,  # login, logout, password reset, own account, hand-off entry
    analytics,  # reports: sales, traffic, funnel, products, customers, discounts
    billing,  # plan, invoices, subscription changes
    catalog,  # products
    collections,  # collections of products
    customers,  # customers and their accounts
    discounts,  # discount codes, automatic discounts
    exports,  # orders and customers as CSV files, made by a job
    home,  # dashboard
    inbox,  # customer-service conversations, FAQ, saved replies, inbox settings
    loyalty,  # the points programme: rules, what it owes; customers' points
    newsletter,  # newsletter subscribers: list, search, CSV export
    online_store,  # themes, homepage sections, menus, pages
    orders,  # orders: list, order page, fulfilment, refunds, cancellation
    payments,  # payment methods, Stripe account
    product_csv,  # product CSV import and export
    reviews,  # product reviews: moderation queue, replies, settings, CSV
    settings,  # shop settings, launch
    shipping,  # shipping zones and rates, taxes
    staff,  # staff list, invitations, roles
)

__all__ = [
    "account",
    "analytics",
    "billing",
    "bp",
    "catalog",
    "collections",
    "customers",
    "discounts",
    "exports",
    "home",
    "inbox",
    "loyalty",
    "newsletter",
    "online_store",
    "orders",
    "payments",
    "product_csv",
    "reviews",
    "settings",
    "shipping",
    "staff",
]
