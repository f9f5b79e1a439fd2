"""Logging a browser in on another host without sharing a cookie.

Hosts never share cookies (see `saas.sessions`), so a browser moving from the apex
(after signup) or the console (impersonation) to a shop's back office carries a
one-time token in the URL instead. The token is random, stored only as a hash, valid
for a minute, bound to one shop and spent by the first request that presents it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import update

from saas.db import db
from saas.models import HandoffPurpose, HandoffToken
from saas.tenancy.sites import absolute_url, shop_host
from saas.tokens import new_token, token_hash

TOKEN_TTL = timedelta(seconds=60)
IMPERSONATION_TTL = timedelta(minutes=30)


def issue(
    purpose: HandoffPurpose,
    tenant_id: int,
    *,
    staff_id: int | None = None,
    operator_id: int | None = None,
    read_only: bool = False,
    reason: str | None = None,
    session_ttl: timedelta | None = None,
) -> tuple[str, HandoffToken]:
    """Create a token (flushes; the caller commits) and return (raw token, row)."""
    raw, hashed = new_token()
    now = datetime.now(UTC)
    row = HandoffToken(
        token_hash=hashed,
        purpose=purpose,
        tenant_id=tenant_id,
        staff_id=staff_id,
        operator_id=operator_id,
        read_only=read_only,
        reason=reason,
        expires_at=now + TOKEN_TTL,
        session_expires_at=now + session_ttl if session_ttl else None,
    )
    db.session.add(row)
    db.session.flush()
    return raw, row


def entry_url(app: Flask, slug: str, raw_token: str) -> str:
    """Where to send the browser: the shop's hand-off endpoint, with the token."""
    return absolute_url(app, shop_host(app, slug), f"/admin/enter?token={raw_token}")


def redeem(raw_token: str, tenant_id: int) -> HandoffToken | None:
    """Spend a token for this shop; None if unknown, expired, spent or for another shop.

    One UPDATE decides, so two requests racing with the same token cannot both win.
    """
    if not raw_token or len(raw_token) > 100:
        return None
    now = datetime.now(UTC)
    token_id = db.session.scalar(
        update(HandoffToken)
        .where(
            HandoffToken.token_hash == token_hash(raw_token),
            HandoffToken.tenant_id == tenant_id,
            HandoffToken.used_at.is_(None),
            HandoffToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(HandoffToken.id)
    )
    return db.session.get(HandoffToken, token_id) if token_id else None


def live_impersonation(handoff_id: int, tenant_id: int) -> HandoffToken | None:
    """The impersonation session `handoff_id`, if it is this shop's and still running."""
    row = db.session.get(HandoffToken, handoff_id)
    if (
        row is None
        or row.purpose != HandoffPurpose.IMPERSONATE
        or row.tenant_id != tenant_id
        or row.used_at is None
        or row.ended_at is not None
        or row.session_expires_at is None
        or row.session_expires_at <= datetime.now(UTC)
    ):
        return None
    return row
