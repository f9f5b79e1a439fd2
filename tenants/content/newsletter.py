"""The shop's newsletter list for the merchant: finding, exporting and leaving it.

Signing up is `tenants.content.services.subscribe`. Leaving needs no login: every
marketing email carries `unsubscribe_url(address)`, a link signed with the platform's
secret for this shop and address, so it cannot be forged or reused on another shop.
No marketing email is sent yet; the one that comes must put `unsubscribe_footer()`
in its body.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import cast

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, delete, func, select, update

from saas import audit
from saas.db import db
from saas.tenancy import current_tenant
from saas.tenancy.sites import absolute_url, shop_host
from tenants.content.models import NewsletterSubscriber
from tenants.customers.models import Customer

MAX_QUERY = 320
EXPORT_BATCH = 1000


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped}%"


def subscribers_query(q: str = "") -> Select[NewsletterSubscriber]:
    """Subscribers, newest first; `q` matches any part of the address."""
    query = select(NewsletterSubscriber)
    q = q.strip()[:MAX_QUERY]
    if q:
        query = query.where(NewsletterSubscriber.email.ilike(_like(q.lower())))
    return query.order_by(NewsletterSubscriber.created_at.desc(), NewsletterSubscriber.id.desc())


def subscriber_count() -> int:
    return db.session.scalar(select(func.count()).select_from(NewsletterSubscriber)) or 0


def _cell(value: str) -> str:
    # A spreadsheet runs a cell that starts like a formula: never one of ours.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_csv(q: str = "") -> Iterator[str]:
    """The subscribers the list shows (all, or those `q` finds) as CSV, in batches."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Email", "Subscribed at (UTC)"])
    yield out.getvalue()
    last_id = 0
    base = subscribers_query(q).order_by(None).order_by(NewsletterSubscriber.id)
    while True:
        rows = db.session.scalars(
            base.where(NewsletterSubscriber.id > last_id).limit(EXPORT_BATCH)
        ).all()
        if not rows:
            return
        out.seek(0)
        out.truncate()
        for row in rows:
            when = row.created_at.strftime("%Y-%m-%d %H:%M") if row.created_at else ""
            writer.writerow([_cell(row.email), when])
        yield out.getvalue()
        last_id = rows[-1].id


def export_filename(slug: str) -> str:
    return f"{slug}-newsletter-subscribers.csv"


# --- leaving the list --------------------------------------------------------------


def _signer() -> URLSafeSerializer:
    secret = cast(str, current_app.secret_key)
    return URLSafeSerializer(secret, salt=f"newsletter-unsubscribe:{current_tenant.id}")


def unsubscribe_token(email: str) -> str:
    return cast(str, _signer().dumps(email.strip().lower()))


def email_for_token(token: str) -> str | None:
    """The address a token was made for in this shop, or None (forged, another shop's)."""
    try:
        email = _signer().loads(token[:1000])
    except BadSignature:
        return None
    return email if isinstance(email, str) else None


def unsubscribe_url(email: str) -> str:
    """The link every marketing email to `email` must carry (works from a job too)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    path = f"/newsletter/unsubscribe/{unsubscribe_token(email)}"
    return absolute_url(app, shop_host(app, current_tenant.slug), path)


def unsubscribe_footer(email: str) -> str:
    """The plain-text lines that end a marketing email."""
    return (
        "\n\n--\nYou get this email because you subscribed to our newsletter.\n"
        f"Unsubscribe: {unsubscribe_url(email)}\n"
    )


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def unsubscribe(email: str) -> bool:
    """Take `email` off the list, and off marketing consent as a customer. Flushes.
    False if it was on neither (a second click)."""
    email = email.strip().lower()
    removed = _count(
        db.session.execute(delete(NewsletterSubscriber).where(NewsletterSubscriber.email == email))
    )
    withdrawn = _count(
        db.session.execute(
            update(Customer)
            .where(Customer.email == email, Customer.accepts_marketing.is_(True))
            .values(accepts_marketing=False)
        )
    )
    if removed or withdrawn:
        audit.record("newsletter.unsubscribed", actor=("customer", None, email))
    db.session.flush()
    return bool(removed or withdrawn)
