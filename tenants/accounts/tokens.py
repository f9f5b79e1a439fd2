"""Single-use links mailed to an account: password resets, invitations.

The raw token goes out in the email; only its hash is stored (`saas.tokens`). A link
works once, until it expires, and issuing a new one for the same purpose spoils the
ones before it. Each kind of link is a `Links`: its table, purpose, lifetime, page and
the words its messages use.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic

from flask import current_app
from sqlalchemy import select, update

from saas.db import db
from saas.jobs import enqueue
from saas.outbox import OutboxMessage
from saas.tenancy import current_tenant
from saas.tenancy.sites import absolute_url, shop_host
from saas.tokens import new_token, token_hash
from tenants.accounts.kinds import A, T
from tenants.accounts.problems import LinkProblem

MAX_RAW = 100  # longer than any token we mint: not worth hashing


def _anyone(owner: Any) -> bool:
    return True


@dataclass(frozen=True)
class Links(Generic[A, T]):
    """One kind of single-use link, stored in `token_model` rows naming their owner."""

    token_model: type[T]
    owner_model: type[A]
    owner_key: str  # the token's column holding the owner's id ("staff_id")
    purpose: str
    ttl: timedelta
    what: str  # how messages name the link: "This {what} has expired."
    path: str  # the page that opens it, the raw token appended
    # Whether the owner may still use such a link (an invitation: still invited).
    accepts: Callable[[A], bool] = _anyone

    def expire(self, owner_id: int) -> None:
        """Spoil the owner's unused links of this kind."""
        c = self.token_model.__table__.c
        db.session.execute(
            update(self.token_model)
            .where(
                c[self.owner_key] == owner_id,
                c.purpose == self.purpose,
                c.used_at.is_(None),
                c.expires_at > _now(),
            )
            .values(expires_at=_now())
        )

    def issue(self, owner_id: int) -> tuple[str, T]:
        """A fresh link for the owner, as (its absolute URL, its row); earlier ones stop working."""
        self.expire(owner_id)
        raw, hashed = new_token()
        token = self.token_model()
        setattr(token, self.owner_key, owner_id)
        token.purpose = self.purpose
        token.token_hash = hashed
        token.expires_at = _now() + self.ttl
        db.session.add(token)
        db.session.flush()
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        return absolute_url(app, shop_host(app, current_tenant.slug), self.path + raw), token

    def open(self, raw: str) -> tuple[T, A]:
        """The token behind link `raw` and its owner, if it can still be used.

        Raises LinkProblem: 400 for a link that never was one, 410 for one used,
        expired, or whose owner may no longer use it.
        """
        token = None
        if raw and len(raw) <= MAX_RAW:
            c = self.token_model.__table__.c
            token = db.session.scalar(
                select(self.token_model).where(
                    c.token_hash == token_hash(raw), c.purpose == self.purpose
                )
            )
        if token is None:
            raise LinkProblem(
                f"This {self.what} is not valid. Check that you copied all of it.", 400
            )
        if token.used_at is not None:
            raise LinkProblem(f"This {self.what} was already used.", 410)
        if token.expires_at <= _now():
            raise LinkProblem(f"This {self.what} has expired.", 410)
        return token, self.owner(token)

    def owner(self, token: T) -> A:
        """Whom `token` was issued to; LinkProblem if they may no longer use it."""
        owner = db.session.get(self.owner_model, getattr(token, self.owner_key))
        # The foreign key cascades: a missing owner is a race with their removal.
        if owner is None or not self.accepts(owner):
            raise LinkProblem(f"This {self.what} is no longer valid.", 410)
        return owner

    def spend(self, token: T) -> None:
        """Mark `token` used; one UPDATE decides, so two racing requests cannot both use it."""
        c = self.token_model.__table__.c
        spent = db.session.scalar(
            update(self.token_model)
            .where(c.id == token.id, c.used_at.is_(None))
            .values(used_at=_now())
            .returning(c.id)
        )
        if spent is None:
            raise LinkProblem(f"This {self.what} was already used.", 410)


def queue_mail(job: Callable[..., None], *args: Any) -> None:
    """After the commit, run `job(*args, request_key)` on the mail queue.

    The key is new for each call: the job makes it its email's dedupe key, so a retried
    job finds its email already recorded (`already_sent`) and a second request mails again.
    """
    enqueue(job, *args, secrets.token_hex(8), queue="mail")


def already_sent(dedupe_key: str) -> bool:
    """Whether an email with `dedupe_key` was recorded: a retried mail job stops there."""
    return (
        db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
        is not None
    )


def _now() -> datetime:
    return datetime.now(UTC)
