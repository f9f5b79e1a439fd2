"""Billing in the console: the platform's figures (MRR, churn, subscriptions by status),
the failed payments to chase, and, on a shop's page, its billing section and the
operator's "record a payment" (manual billing).

The figures are `saas.billing.metrics`; recording a payment is
`saas.billing.manual.record_payment`. Views only read forms and render.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import render_template, request, url_for
from flask_login import login_required

from saas.billing import manual, metrics
from saas.billing.standing import STATUS_LABELS, Standing, status_of
from saas.console import bp, utc_time
from saas.console.actions import ActionRefused
from saas.console.tenants import (
    _action,
    _done,
    _operator,
    _refused,
    _whole_number,
    render_tenant,
)
from saas.models import BillingInterval, Subscription, SubscriptionStatus, Tenant, TenantStatus
from saas.money import format_money
from saas.paging import paginate
from saas.payments import stripe_api

PER_PAGE = 25
FAILED_PER_PAGE = 10
CHURN_DAYS = 30
INTERVAL_LABELS: dict[str, str] = {BillingInterval.MONTH: "Monthly", BillingInterval.YEAR: "Yearly"}
FILTER_LABELS = {**{s.value: label for s, label in STATUS_LABELS.items()}, metrics.CLOSED: "Closed"}
MANUAL_NOTICE = (
    "Payments are not configured: billing is manual. Record payments on each shop's page."
)


def status_label(status: str) -> str:
    return FILTER_LABELS.get(status, status.replace("_", " ").capitalize())


def standing_text(tenant: Tenant, subscription: Subscription | None) -> str:
    """Where the shop stands, in a sentence: "Payment overdue since …, storefront closes
    on …", "Closed since …", "Free trial until …"."""
    status = status_of(tenant, subscription)
    closes = f", storefront closes on {utc_time(status.closes_at)}" if status.closes_at else ""
    if status.standing == Standing.CLOSED:
        text = f"Closed since {utc_time(status.closes_at)}"
        if subscription is not None and subscription.status == SubscriptionStatus.CANCELED:
            return text + " (subscription cancelled)"
        if subscription is not None and subscription.past_due_since:
            return text + f" (payment overdue since {utc_time(subscription.past_due_since)})"
        return text
    if subscription is None:
        return "No plan yet"
    if status.standing == Standing.PAST_DUE:
        since = subscription.past_due_since
        return "Payment overdue" + (f" since {utc_time(since)}" if since else "") + closes
    if status.standing == Standing.TRIAL:
        ends = subscription.trial_ends_at
        return "Free trial" + (f" until {utc_time(ends)}" if ends else "") + closes
    if subscription.status == SubscriptionStatus.CANCELED:
        return "Cancelled" + closes
    paid_through = subscription.current_period_end
    if subscription.cancel_at_period_end:
        text = "Paid; cancels at the end of its period"
        return text + (f", {utc_time(paid_through)}" if paid_through else "") + closes
    return "In good standing" + (f", paid through {utc_time(paid_through)}" if paid_through else "")


def _refusal(tenant: Tenant, subscription: Subscription | None) -> str | None:
    """Why a payment cannot be recorded for this shop now (None: it can). The action
    itself checks again; this only spares the operator a form that cannot work."""
    if tenant.status == TenantStatus.DELETED:
        return "A deleted shop cannot pay; restore it first."
    if subscription is None:
        return "This shop has no plan yet: choose one for it first."
    if subscription.stripe_subscription_id and subscription.status != SubscriptionStatus.CANCELED:
        return "This shop pays through Stripe: its payments are recorded from Stripe."
    return None


def tenant_billing(tenant: Tenant) -> dict[str, Any]:
    """What the shop page's billing section shows."""
    subscription = tenant.subscription
    facts: dict[str, Any] = {
        "subscription": subscription,
        "standing": standing_text(tenant, subscription),
        "needs_payment": status_of(tenant, subscription).needs_payment,
        "history": metrics.billing_history(tenant.id),
        "stripe_configured": stripe_api.configured(),
        "manual_notice": MANUAL_NOTICE,
        "max_periods": manual.MAX_PERIODS,
        "refusal": _refusal(tenant, subscription),
    }
    if subscription is not None:
        plan = subscription.plan
        facts["status_label"] = status_label(subscription.status)
        facts["interval_label"] = INTERVAL_LABELS.get(subscription.interval, subscription.interval)
        facts["period_price"] = format_money(subscription.price_cents, plan.currency.upper())
        facts["period_word"] = "year" if subscription.interval == BillingInterval.YEAR else "month"
    return facts


# --- the billing page -----------------------------------------------------------------


def _url_with(**changes: Any) -> str:
    """This page's URL with its query changed (None or 1 for a page drops the key)."""
    values: dict[str, Any] = {k: v for k, v in request.args.items() if v != ""}
    for key, value in changes.items():
        if value is None or value == "" or (key.endswith("page") and value == 1):
            values.pop(key, None)
        else:
            values[key] = str(value)
    return url_for("console.billing", **values)


@bp.get("/billing")
@login_required
def billing() -> Any:
    status = request.args.get("status", "")
    errors: dict[str, str] = {}
    if status and status not in metrics.COUNT_KEYS:
        errors["status"] = "Choose a status from the list."
        status = ""
    counts = metrics.subscription_counts()
    page = paginate(metrics.subscriptions_query(status or None), PER_PAGE, scalars=False)
    rows = [
        (subscription, tenant, plan, standing_text(tenant, subscription))
        for subscription, tenant, plan in page.items
    ]
    failed_page = request.args.get("failed_page", 1, type=int) or 1
    all_count = sum(counts[s.value] for s in SubscriptionStatus)
    filters = [("", "All", all_count)] + [
        (key, status_label(key), counts[key]) for key in metrics.COUNT_KEYS
    ]
    return render_template(
        "console/billing.html",
        counts=counts,
        paying=metrics.paying_count(),
        mrr=metrics.mrr(),
        churn=metrics.churn(CHURN_DAYS),
        percent=metrics.percent,
        status=status,
        errors=errors,
        filters=filters,
        page=page,
        rows=rows,
        failed=metrics.failed_payments(min(max(failed_page, 1), 100_000), FAILED_PER_PAGE),
        url_with=_url_with,
        status_label=status_label,
        interval_labels=INTERVAL_LABELS,
        stripe_configured=stripe_api.configured(),
        manual_notice=MANUAL_NOTICE,
    ), (400 if errors else 200)


# --- recording a payment (manual billing) ---------------------------------------------


@bp.post("/tenants/<int:tenant_id>/record-payment")
@login_required
def record_payment(tenant_id: int) -> Any:
    tenant, form, errors = _action("payment", tenant_id, ("periods",))
    periods = _whole_number(form, errors, "payment.periods", manual.MAX_PERIODS, "periods")
    if errors:
        return render_tenant(tenant, errors=errors, form=form, status=400)
    was_closed = status_of(tenant, tenant.subscription).closed
    try:
        invoice = manual.record_payment(tenant, periods, form["payment.reason"], actor=_operator())
    except ActionRefused as exc:
        return _refused(tenant, "payment", exc, form)
    amount = format_money(invoice.amount_paid_cents, invoice.currency.upper())
    paid_through: datetime | None = invoice.period_end
    return _done(
        tenant,
        f"Payment of {amount} recorded for {tenant.name}"
        + (f", paid through {utc_time(paid_through)}" if paid_through else "")
        + "."
        + (
            " Its storefront is open again."
            if was_closed and tenant.status == TenantStatus.ACTIVE
            else ""
        ),
    )
