"""The merchant's billing page: plan, status, invoices; choose or change a plan, cancel
at the period's end, resume, update the card in Stripe's portal.

The work is done by `saas.billing.subscribe`; these views ask for confirmation, call it
and say what happened (the request commits). While unpaid billing keeps the storefront
closed, the back office opens only these pages (see `billing_only`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.billing import standing, subscribe
from saas.billing.limits import usage
from saas.billing.standing import STATUS_LABELS
from saas.billing.subscribe import BillingRefused
from saas.db import atomic, db
from saas.models import BillingInterval, Invoice, Plan, Subscription, Tenant
from saas.payments import stripe_api
from saas.plans import offered_plans
from saas.tenancy import current_tenant
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.settings.services import get_settings
from tenants.staff.models import Area

INVOICES_SHOWN = 24
# What stops a billing change: the platform's rules, or Stripe. Said on the billing page.
REFUSED = (BillingRefused, stripe_api.StripeFailure)

# What stays open in the back office while the storefront is closed for billing.
BILLING_ONLY = {
    "backoffice.billing",
    "backoffice.billing_plan",
    "backoffice.billing_cancel",
    "backoffice.billing_resume",
    "backoffice.billing_portal",
    "backoffice.billing_return",
    "backoffice.login",
    "backoffice.logout",
    "backoffice.static",
    "backoffice.outbox",
    "backoffice.account",
}


def _to_billing(message: str, category: str) -> Response:
    """Back to the billing page, which says what happened."""
    flash(message, category)
    return redirect(url_for("backoffice.billing"), code=303)


def billing_only() -> Any:
    """Before back-office requests: a shop closed for billing can only pay."""
    if not current_tenant.closed_for_billing or request.endpoint in BILLING_ONLY:
        return None
    if request.endpoint is None:
        return None
    return _to_billing(
        "Your shop is closed until your plan is paid. Pay to reopen everything.", "error"
    )


@bp.app_template_filter("billing_date")
def billing_date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %B %Y")


def _tenant() -> Tenant:
    tenant = db.session.get(Tenant, current_tenant.id)
    assert tenant is not None
    return tenant


def _subscription() -> Subscription | None:
    return db.session.scalar(
        select(Subscription).where(Subscription.tenant_id == current_tenant.id)
    )


@bp.get("/billing")
@requires(Area.BILLING)
def billing() -> str:
    tenant = _tenant()
    subscription = _subscription()
    plan = subscription.plan if subscription else None
    invoices = db.session.scalars(
        select(Invoice)
        .where(Invoice.tenant_id == current_tenant.id)
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc())
        .limit(INVOICES_SHOWN)
    ).all()
    return render_template(
        "backoffice/billing.html",
        subscription=subscription,
        plan=plan,
        status=standing.status_of(tenant, subscription),
        status_labels=STATUS_LABELS,
        usage=usage(current_tenant.id, plan) if plan else [],
        plans=offered_plans(),
        invoices=invoices,
        online=subscribe.online(),
        live=bool(subscription and subscribe.live_in_stripe(subscription)),
        settings=get_settings(),
    )


def _chosen() -> tuple[Plan, str]:
    source = request.form if request.method == "POST" else request.args
    plan = db.session.scalar(select(Plan).where(Plan.code == (source.get("plan") or "")))
    if plan is None:
        abort(404)
    interval = source.get("interval") or BillingInterval.MONTH
    if interval not in (BillingInterval.MONTH, BillingInterval.YEAR):
        abort(400, "Choose monthly or yearly billing.")
    return plan, interval


@bp.route("/billing/plan", methods=["GET", "POST"])
@requires(Area.BILLING)
def billing_plan() -> Any:
    """Confirm, then choose or change the plan (Stripe Checkout the first time)."""
    plan, interval = _chosen()
    subscription = _subscription()
    if subscription is None:
        abort(404)
    live = subscribe.live_in_stripe(subscription)
    if request.method == "GET":
        return render_template(
            "backoffice/billing_plan.html",
            plan=plan,
            interval=interval,
            subscription=subscription,
            live=live,
            online=subscribe.online(),
        )
    tenant = _tenant()
    try:
        with atomic():
            if subscribe.online() and not live:
                url = subscribe.checkout_url(
                    tenant,
                    plan,
                    interval,
                    success_url=url_for("backoffice.billing_return", _external=True)
                    + "?session_id={CHECKOUT_SESSION_ID}",
                    cancel_url=url_for("backoffice.billing", _external=True),
                )
                # The request commits: the Stripe customer's id is kept even if they turn back.
                return redirect(url, code=303)
            message = subscribe.change_plan(
                tenant, plan, interval, actor=current_user._get_current_object()
            )
    except REFUSED as error:
        return _to_billing(str(error), "error")
    return _to_billing(message, "success")


@bp.get("/billing/return")
@requires(Area.BILLING)
def billing_return() -> Response:
    """Back from Stripe Checkout: take the subscription now (the webhook may be late)."""
    try:
        with atomic():
            done = subscribe.complete_checkout(_tenant(), request.args.get("session_id", ""))
    except REFUSED as error:
        return _to_billing(str(error), "error")
    if not done:
        return _to_billing(
            "We are waiting for Stripe to confirm your payment. This page updates soon.", "info"
        )
    subscription = _subscription()
    assert subscription is not None
    return _to_billing(f"Thank you! Your {subscription.plan.name} plan is active.", "success")


def _cancel_at_period_end(cancel: bool) -> Response:
    """Cancel the plan at the period's end (`cancel`), or take that back."""
    try:
        with atomic():
            message = subscribe.set_cancel_at_period_end(
                _tenant(), cancel, actor=current_user._get_current_object()
            )
    except REFUSED as error:
        return _to_billing(str(error), "error")
    return _to_billing(message, "success")


@bp.route("/billing/cancel", methods=["GET", "POST"])
@requires(Area.BILLING)
def billing_cancel() -> Any:
    subscription = _subscription()
    if subscription is None:
        abort(404)
    if request.method == "GET":
        return render_template("backoffice/billing_cancel.html", subscription=subscription)
    return _cancel_at_period_end(True)


@bp.post("/billing/resume")
@requires(Area.BILLING)
def billing_resume() -> Response:
    return _cancel_at_period_end(False)


@bp.post("/billing/portal")
@requires(Area.BILLING)
def billing_portal() -> Response:
    """Stripe's customer portal, for this shop's own customer only."""
    try:
        url = subscribe.portal_url(_tenant(), url_for("backoffice.billing", _external=True))
    except REFUSED as error:
        return _to_billing(str(error), "error")
    return redirect(url, code=303)


# After the login guard (registered first, in tenants/backoffice/__init__.py).
bp.before_request(billing_only)
