"""The audit trail: every operator action and every sensitive merchant action.

`record()` adds the event to the caller's transaction, so an action and its trail
commit (or roll back) together. Events live in the platform schema: the operator reads
them across shops, and each one names its shop.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from saas.db import db
from saas.models import AuditEvent, Operator
from saas.tenancy import get_current_tenant


def actor_of(user: Any) -> tuple[str, int | None, str | None]:
    """(actor_type, actor_id, actor_email) for a logged-in principal."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "visitor", None, None
    if isinstance(user, Operator):
        return "operator", user.id, user.email
    if getattr(user, "is_impersonation", False):
        return "operator", user.operator_id, user.operator_email
    # A shop's own principals say what they are (`Staff.actor_type`, `Customer.actor_type`).
    actor_type = getattr(user, "actor_type", "staff")
    return actor_type, getattr(user, "id", None), getattr(user, "email", None)


def record(
    action: str,
    *,
    tenant_id: int | None = None,
    actor: Any = None,
    reason: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event for `action` (e.g. "staff.login") to the current transaction.

    The tenant defaults to the current shop and the actor to the logged-in user.
    """
    if tenant_id is None:
        tenant = get_current_tenant()
        tenant_id = tenant.id if tenant else None
    if actor is None and has_request_context():
        actor = current_user._get_current_object()
    actor_type, actor_id, actor_email = actor if isinstance(actor, tuple) else actor_of(actor)
    if getattr(actor, "is_impersonation", False):
        detail.setdefault("impersonating", True)
    event = AuditEvent(
        tenant_id=tenant_id,
        actor_type=actor_type,
        actor_id=actor_id,
        actor_email=actor_email,
        action=action,
        reason=reason,
        detail=detail,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
