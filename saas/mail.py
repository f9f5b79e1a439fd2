"""Outgoing email. Every message is kept in the shop's outbox; with `SMTP_URL` set it is
also sent. Call from jobs, never on the request path."""

from __future__ import annotations

import logging
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import select

from saas.db import db
from tenants.models import OutboxMessage

log = logging.getLogger(__name__)


def send_email(to: str, subject: str, body: str, *, dedupe_key: str | None = None) -> OutboxMessage:
    """Record (and, if configured, send) one message from the current shop.

    With a `dedupe_key`, a second call for the same key returns the first message
    instead of sending again, so a retried job never mails twice. Commits.
    """
    if dedupe_key:
        existing = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return existing
    message = OutboxMessage(to_address=to, subject=subject, body=body, dedupe_key=dedupe_key)
    db.session.add(message)
    db.session.commit()
    smtp_url = current_app.config["SMTP_URL"]
    if smtp_url:
        _deliver(smtp_url, message)
        message.sent_at = datetime.now(UTC)
        db.session.commit()
    log.info("mail %r to %s recorded", subject, to)
    return message


def _deliver(smtp_url: str, message: OutboxMessage) -> None:
    parts = urlsplit(smtp_url)  # smtp://user:pass@host:port or smtps://...
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email.set_content(message.body)
    ssl = parts.scheme == "smtps"
    default_port = 465 if ssl else 587 if parts.scheme == "smtp+starttls" else 25
    smtp_cls = smtplib.SMTP_SSL if ssl else smtplib.SMTP
    with smtp_cls(parts.hostname or "localhost", parts.port or default_port, timeout=30) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(email)
