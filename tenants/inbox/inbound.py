"""Replies shoppers send by email, from a mail provider's inbound webhook.

The format is Postmark's inbound JSON (Mailgun and SendGrid can post the same fields
through a small route), of which these are read:

    {"MessageID": "...", "From": "jo@example.com", "FromName": "Jo",
     "To": "reply+<token>@<INBOUND_EMAIL_DOMAIN>", "Subject": "Re: ...",
     "TextBody": "...", "StrippedTextReply": "..."}

`OriginalRecipient` (or `ToFull[].Email`) is read when `To` names several addresses.
The request is signed: header `X-Inbound-Signature: t=<unix time>,v1=<hex>`, where the
hex is HMAC-SHA256 with `INBOUND_EMAIL_SECRET` over `"<t>." + <the raw body>`; a
signature older than five minutes is refused, so a captured request cannot be
replayed later. The provider posts to `https://<shop host>/contact/inbound-email`; the
token in the reply address picks the conversation within that shop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app
from sqlalchemy import select

from saas.db import db
from saas.email_address import normalise_email
from tenants.inbox.conversations import shopper_reply
from tenants.inbox.links import conversation_for_reply_token
from tenants.inbox.models import Message
from tenants.inbox.text import MAX_BODY, plain_text

SIGNATURE_HEADER = "X-Inbound-Signature"
TOLERANCE = 300  # seconds
_REPLY_TO = re.compile(r"reply\+([0-9a-f]{8,32})@", re.IGNORECASE)
# Lines mail clients put above the quoted message they answer.
_QUOTE_START = re.compile(r"^(On .+wrote:|-{2,} ?Original Message ?-{2,}|>)", re.MULTILINE)


class InboundRefused(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The header value for `payload` (what a provider sends; tests and docs use it)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def verify(payload: bytes, header: str | None) -> None:
    """InboundRefused unless `header` signs `payload` with our secret, recently."""
    secret = current_app.config.get("INBOUND_EMAIL_SECRET") or ""
    if not secret:
        raise InboundRefused(403, "Inbound email is off", "No inbound email secret is set.")
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    try:
        stamp = int(parts.get("t", ""))
    except ValueError:
        raise InboundRefused(401, "Unsigned request", "The signature is missing.") from None
    if abs(time.time() - stamp) > TOLERANCE:
        raise InboundRefused(401, "Stale signature", "The signature's time is too far off.")
    expected = sign(payload, secret, stamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise InboundRefused(401, "Bad signature", "The signature does not match.")


@dataclass(frozen=True)
class Inbound:
    message_id: str
    sender: str
    recipients: list[str]
    body: str


def parse(payload: bytes) -> Inbound:
    try:
        data: Any = json.loads(payload)
    except ValueError:
        raise InboundRefused(400, "Not JSON", "The body is not a JSON object.") from None
    if not isinstance(data, dict):
        raise InboundRefused(400, "Not JSON", "The body is not a JSON object.")
    recipients = [str(data.get("OriginalRecipient") or ""), str(data.get("To") or "")]
    for full in data.get("ToFull") or []:
        if isinstance(full, dict):
            recipients.append(str(full.get("Email") or ""))
    text = str(data.get("StrippedTextReply") or "") or _strip_quote(str(data.get("TextBody") or ""))
    return Inbound(
        message_id=str(data.get("MessageID") or "")[:255],
        sender=normalise_email(str(data.get("From") or "")),
        recipients=recipients,
        body=plain_text(text, MAX_BODY),
    )


def _strip_quote(text: str) -> str:
    match = _QUOTE_START.search(text)
    return text[: match.start()] if match else text


def receive(inbound: Inbound) -> Message | None:
    """Thread the email into its conversation. None if no conversation of this shop has
    that token, the sender is not the conversation's, or it says nothing; a provider's
    second delivery of the same email returns the first message. Flushes."""
    token = next((m.group(1) for r in inbound.recipients if (m := _REPLY_TO.search(r))), None)
    conversation = conversation_for_reply_token(token) if token else None
    if conversation is None or not inbound.body:
        return None
    if inbound.sender != conversation.email:
        return None  # a forwarded or guessed address: the shopper replies from their own
    if inbound.message_id:
        seen = db.session.scalar(select(Message).where(Message.external_id == inbound.message_id))
        if seen is not None:
            return seen
    return shopper_reply(
        conversation, inbound.body, via="email", external_id=inbound.message_id or None
    )


def problem_response(status: int, title: str, detail: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def json_response(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=200, mimetype="application/json")
