"""Outgoing email. Every message is kept in the shop's outbox; with `SMTP_URL` set it is
also sent. Call from jobs, never on the request path."""

from __future__ import annotations

import logging
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import partial
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import select, update

from saas.db import after_commit, db, tenant_bind
from saas.outbox import OutboxMessage
from saas.tenancy import current_tenant

log = logging.getLogger(__name__)


def send_email(
    to: str,
    subject: str,
    body: str,
    *,
    dedupe_key: str | None = None,
    reply_to: str | None = None,
    html: str | None = None,
) -> OutboxMessage:
    """Record one message from the current shop; if SMTP is configured, it is sent once
    the unit of work commits (a message of a unit that rolls back is never sent).

    With a `dedupe_key`, a second call for the same key returns the first message
    instead of sending again, so a retried job never mails twice. `reply_to`: where
    answers go (a conversation's inbound address), when not to `MAIL_FROM`. `html`: the
    same message as a page (a themed email), sent beside the text as
    multipart/alternative; the text stays for clients that show no HTML. Flushes.
    """
    if dedupe_key:
        existing = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return existing
    message = OutboxMessage(
        to_address=to, subject=subject, body=body, html_body=html, dedupe_key=dedupe_key
    )
    db.session.add(message)
    db.session.flush()
    smtp_url = current_app.config["SMTP_URL"]
    if smtp_url:
        extra = {"reply_to": reply_to, "html": html}
        after_commit(
            partial(
                _send_recorded,
                smtp_url,
                message.id,
                to,
                subject,
                body,
                **{name: value for name, value in extra.items() if value},
            )
        )
    log.info("mail %r to %s recorded", subject, to)
    return message


def _send_recorded(
    smtp_url: str, message_id: int, to: str, subject: str, body: str, **extra: str
) -> None:
    """After commit: deliver the recorded message, then mark it sent on a connection of
    its own (the unit's session is finished). `extra`: only the options a message has
    (reply_to, html), so a plain message is delivered with the plain call."""
    _deliver(smtp_url, to, subject, body, **extra)
    with tenant_bind(db.engine, current_tenant.schema).begin() as conn:
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(sent_at=datetime.now(UTC))
        )


def _deliver(
    smtp_url: str,
    to: str,
    subject: str,
    body: str,
    reply_to: str | None = None,
    html: str | None = None,
) -> None:
    parts = urlsplit(smtp_url)  # smtp://user:pass@host:port or smtps://...
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = to
    email["Subject"] = subject
    if reply_to:
        email["Reply-To"] = reply_to
    email.set_content(body)
    if html:
        # multipart/alternative, text first: clients show the last part they can read.
        email.add_alternative(html, subtype="html")
    ssl = parts.scheme == "smtps"
    default_port = 465 if ssl else 587 if parts.scheme == "smtp+starttls" else 25
    smtp_cls = smtplib.SMTP_SSL if ssl else smtplib.SMTP
    with smtp_cls(parts.hostname or "localhost", parts.port or default_port, timeout=30) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(email)
