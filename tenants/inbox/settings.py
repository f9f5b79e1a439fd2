"""The shop's inbox settings: the response time the automatic reply promises."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db
from tenants.inbox.models import InboxSettings

RESPONSE_CHOICES = (2, 4, 8, 24, 48, 72)


def get_inbox_settings() -> InboxSettings:
    """The one row, made with the defaults the first time it is asked for."""
    row = db.session.scalar(select(InboxSettings).order_by(InboxSettings.id).limit(1))
    if row is None:
        row = InboxSettings(response_hours=24, auto_reply=True)
        db.session.add(row)
        db.session.flush()
    return row


def response_time(hours: int) -> str:
    """How the promise reads: "within 4 hours", "within 2 days"."""
    if hours % 24 == 0 and hours >= 48:
        return f"within {hours // 24} days"
    if hours == 24:
        return "within a day"
    return f"within {hours} hour" + ("" if hours == 1 else "s")


def update_inbox_settings(response_hours: int, auto_reply: bool) -> None:
    if response_hours not in RESPONSE_CHOICES:
        raise ValueError("unknown response time")
    row = get_inbox_settings()
    row.response_hours, row.auto_reply = response_hours, auto_reply
    db.session.flush()
