"""Who is logged in, on which door.

One Flask-Login manager serves every site; the user id in the session says what kind
of principal it is, and the loader only accepts the kind that belongs to the site the
request is for:

* console: `op:<operator id>:<session version>`;
* shop back office: `staff:<tenant id>:<staff id>:<session version>`, accepted only on
  that tenant's host, or `imp:<tenant id>:<hand-off id>` for an operator's
  impersonation session, accepted only while its row says it is running;
* storefront: `customer:<tenant id>:<customer id>:<session version>`, a shopper with an
  account, accepted only on that tenant's host and never under the back office's
  `/admin` prefix.

Session cookies are already signed per host (`saas.sessions`); the tenant id in the
user id is the second lock. Bumping a session version (password change, removal,
logout) ends every session issued before it.

The back office and the storefront share the shop's host, so they share one session:
one login per browser per shop. Logging in as a customer ends a staff session and the
other way round (`start_session` clears the session). Inside the back office a
customer's session loads as nobody at all, so every back-office check (the guard, the
layout, the audit trail) sees an anonymous visitor and sends them to the staff login;
on the storefront, code that means "staff" asks `is_shop_staff`, never
`is_authenticated`, which is also true for customers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import g, has_request_context, session
from flask_login import AnonymousUserMixin, current_user, login_user, logout_user

from saas.db import db
from saas.extensions import login_manager
from saas.handoff import live_impersonation
from saas.models import Operator
from saas.tenancy import get_current_tenant


@dataclass
class ImpersonationUser:
    """An operator inside a shop's back office, through a time-limited hand-off."""

    handoff_id: int
    operator_id: int
    operator_email: str
    read_only: bool
    reason: str
    expires_at: datetime

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_impersonation = True
    is_shop_staff = True
    is_customer = False

    @property
    def name(self) -> str:
        return f"Operator {self.operator_email}"

    @property
    def email(self) -> str:
        return self.operator_email

    role = "operator"
    manages_staff = True

    def can(self, area: str) -> bool:
        return True

    def get_id(self) -> str:
        tenant = get_current_tenant()
        return f"imp:{tenant.id if tenant else 0}:{self.handoff_id}"


class Anonymous(AnonymousUserMixin):
    is_impersonation = False
    read_only = False

    def can(self, area: str) -> bool:
        return False


# The shop's own principals, loaded from its schema by the domain that owns them
# (staff, customers): kind -> loader(id, session version), registered by `create_app`.
ShopUserLoader = Callable[[int, int], Any]
_shop_users: dict[str, ShopUserLoader] = {}


def register_shop_user(kind: str, loader: ShopUserLoader) -> None:
    """Accept `<kind>:<tenant id>:<id>:<session version>` user ids on a shop's host.

    The tenant id is checked here; `loader(id, session_version)` returns the user, or
    None when the account is gone, disabled or on an older session version (or, for a
    customer, when the request is for the back office).
    """
    _shop_users[kind] = loader


def init_app(app: Any) -> None:
    """Flask-Login on every door, with this module's loader and anonymous user."""
    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    login_manager.user_loader(load_user)


def load_user(user_id: str) -> Any:
    site = getattr(g, "site", None)
    if site is None:
        return None
    kind, _, rest = user_id.partition(":")
    parts = rest.split(":")
    if not all(p.isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts]
    if site.kind == "console" and kind == "op" and len(numbers) == 2:
        operator = db.session.get(Operator, numbers[0])
        if operator is not None and operator.session_version == numbers[1]:
            return operator
        return None
    tenant = get_current_tenant()
    if site.kind != "shop" or tenant is None or not numbers or numbers[0] != tenant.id:
        return None
    if kind in _shop_users and len(numbers) == 3:
        return _shop_users[kind](numbers[1], numbers[2])
    if kind == "imp" and len(numbers) == 2:
        row = live_impersonation(numbers[1], tenant.id)
        if row is None or row.operator is None:
            return None
        return ImpersonationUser(
            handoff_id=row.id,
            operator_id=row.operator.id,
            operator_email=row.operator.email,
            read_only=row.read_only,
            reason=row.reason or "",
            expires_at=row.session_expires_at,  # type: ignore[arg-type]
        )
    return None


def is_shop_staff(user: Any) -> bool:
    """A member of the shop's staff, or an operator inside it: not a customer, not nobody.

    The storefront asks this (never `is_authenticated`, also true for customers) to let
    staff past the launch gate and to show them the preview bar.
    """
    return bool(getattr(user, "is_shop_staff", False))


def current_customer() -> Any:
    """The shopper logged in on this storefront, or None (nobody, or a staff session)."""
    if not has_request_context():
        return None
    user = current_user._get_current_object()
    return user if getattr(user, "is_customer", False) else None


def start_session(user: Any, *, keep: Iterable[str] = ()) -> None:
    """Log `user` in on this host with a fresh session.

    Nothing is carried over from before except the session keys named in `keep`, which
    must say nothing about who the visitor is (the storefront password, say). Whoever
    was logged in on this host before, staff or customer, is logged out.
    """
    kept = {key: session[key] for key in keep if key in session}
    session.clear()
    session.update(kept)
    login_user(user)
    session.permanent = True


def end_session() -> None:
    logout_user()
    session.clear()


def revoke_sessions(user: Any) -> None:
    """End every session `user` has, this one and copies of it included. Caller commits.

    Session cookies live in the browser and cannot be recalled, so logout and password
    changes move the account to a new session version instead, which every earlier
    cookie fails to match. The price: logging out on one device logs out the others.
    """
    user.session_version = (user.session_version or 1) + 1


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path on this same host, else `default` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target
