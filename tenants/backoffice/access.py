"""Who may open which back-office page.

Every back-office view declares what it needs with one of the decorators below; the
blueprint's guard (`guard`, run before every view) enforces it. A view that declares
nothing is refused to everybody, so a forgotten declaration fails closed, and a test
walks the URL map to prove every route is covered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from tenants.staff.models import Area

F = TypeVar("F", bound=Callable[..., Any])

# Values of a view's `access` attribute besides an `Area`.
PUBLIC = "public"  # login, password reset, invitations, hand-off
SIGNED_IN = "signed-in"  # any logged-in staff member (dashboard, own account)
STAFF_ADMIN = "staff-admin"  # owners and admins: staff management
OWNER = "owner"  # the owner only

# Read-only impersonation may still do these (they change nothing of the shop's).
READ_ONLY_ALLOWED = {"backoffice.logout"}


def _mark(access: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view.access = access  # type: ignore[attr-defined]
        return view

    return decorate


def public(view: F) -> F:
    return _mark(PUBLIC)(view)


def signed_in(view: F) -> F:
    return _mark(SIGNED_IN)(view)


def staff_admin(view: F) -> F:
    return _mark(STAFF_ADMIN)(view)


def owner_only(view: F) -> F:
    return _mark(OWNER)(view)


def requires(area: Area) -> Callable[[F], F]:
    """The view belongs to `area`: owners, admins and staff given that area may open it."""
    return _mark(str(area))


def access_of(endpoint: str | None) -> str | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "access", None)


def allowed(user: Any, access: str | None) -> bool:
    if access == PUBLIC:
        return True
    if not user.is_authenticated or access is None:
        return False
    if access == SIGNED_IN:
        return True
    if access == STAFF_ADMIN:
        return bool(user.manages_staff)
    if access == OWNER:
        return getattr(user, "role", None) == "owner" or user.is_impersonation
    return bool(user.can(access))


def can_open(endpoint: str) -> bool:
    """For templates: show a link only to people who may follow it."""
    return allowed(current_user, access_of(endpoint))


def guard() -> Any:
    """Before every back-office request: log in first, then check the view's access."""
    if request.endpoint is None:  # 404/405: let Flask answer
        return None
    if request.endpoint == f"{request.blueprint}.static":  # stylesheets, also for the login page
        return None
    access = access_of(request.endpoint)
    if access == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("backoffice.login", next=request.full_path.rstrip("?")))
    if not allowed(current_user, access):
        abort(403)
    if (
        current_user.read_only
        and request.method not in ("GET", "HEAD", "OPTIONS")
        and request.endpoint not in READ_ONLY_ALLOWED
    ):
        abort(403, "This is a read-only session: nothing can be changed.")
    return None
