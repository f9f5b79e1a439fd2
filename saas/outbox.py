"""Email the shop has sent (or would send, with no SMTP configured): the demo's outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantModel


class OutboxMessage(TenantModel):
    __tablename__ = "outbox_messages"
    storefront_visible = False  # private: never on a shop page

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    # The same message as HTML (a themed email), sent beside `body`; None: text only.
    html_body: Mapped[str | None] = mapped_column(Text)
    # A caller-chosen key: a job that runs twice records one message.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
