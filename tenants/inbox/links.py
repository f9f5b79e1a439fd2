"""The thread link shoppers get by email, and the reply address replies thread by.

The link is signed with the platform's secret under a salt naming the shop, and
carries the conversation's id with its random reply token: a link of one shop is
refused by every other (its signature does not match), and the id alone opens nothing.
"""

from __future__ import annotations

import hmac
import secrets
from typing import cast

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from saas.db import db
from saas.tenancy import current_tenant
from saas.tenancy.sites import absolute_url, shop_host
from tenants.inbox.models import Conversation

MAX_TOKEN = 300


def new_reply_token() -> str:
    return secrets.token_hex(12)


def _signer() -> URLSafeSerializer:
    secret = cast(str, current_app.secret_key)
    return URLSafeSerializer(secret, salt=f"inbox-thread:{current_tenant.id}")


def thread_token(conversation: Conversation) -> str:
    return cast(str, _signer().dumps([conversation.id, conversation.reply_token]))


def conversation_for_token(token: str) -> Conversation | None:
    """The conversation a thread link names in this shop, or None (forged, another
    shop's, or a conversation since deleted)."""
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        value = _signer().loads(token)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int)):
        return None
    conversation = db.session.get(Conversation, value[0])
    if conversation is None or not hmac.compare_digest(conversation.reply_token, str(value[1])):
        return None
    return conversation


def thread_path(conversation: Conversation) -> str:
    return f"/contact/thread/{thread_token(conversation)}"


def thread_url(conversation: Conversation) -> str:
    """The absolute link for emails (works from a job too)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return absolute_url(app, shop_host(app, current_tenant.slug), thread_path(conversation))


def reply_address(conversation: Conversation) -> str | None:
    """reply+<token>@<inbound domain>, when inbound email is set up (else None)."""
    domain = current_app.config.get("INBOUND_EMAIL_DOMAIN") or ""
    return f"reply+{conversation.reply_token}@{domain}" if domain else None


def conversation_for_reply_token(token: str) -> Conversation | None:
    token = token.strip().lower()
    if not token or len(token) > 32:
        return None
    return db.session.scalar(select(Conversation).where(Conversation.reply_token == token))
