"""Billing figures for the operator console: subscriptions by status, MRR, churn, failed
payments and one shop's billing history.

Queries only: the console's views (`saas/operator/billing.py`) render them. Deleted
shops are left out of every figure (their subscription rows stay until the purge, but
they neither pay nor churn any more). Money stays in integer cents, one figure per
currency: amounts in different currencies are never added together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Select, case, func, or_, select

from saas.db import db
from saas.models import (
    AuditEvent,
    BillingInterval,
    Invoice,
    InvoiceStatus,
    Plan,
    Subscription,
    SubscriptionStatus,
    Tenant,
    TenantStatus,
)
from saas.money import format_money
from saas.paging import Page

# Subscriptions that bring in money: a past-due one is still owed (and counted, as
# Stripe counts it) until it is canceled.
PAYING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
# The counts' keys: every subscription status, then shops closed for unpaid billing.
CLOSED = "closed"
COUNT_KEYS = (*(s.value for s in SubscriptionStatus), CLOSED)
# Audit events that belong in a shop's billing history besides the `billing.*` ones.
BILLING_ACTIONS = ("tenant.plan_changed", "tenant.trial_extended")
HISTORY_LIMIT = 100
RATE_PLACES = Decimal("0.0001")  # a rate to a hundredth of a percent


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _live() -> Any:
    return Tenant.status != TenantStatus.DELETED


# What one period of a subscription costs, in SQL: `Subscription.price_cents`, which
# is also what manual billing charges per period (a plan with no yearly price bills a
# year at its monthly price).
_PERIOD_CENTS = case(
    (
        Subscription.interval == BillingInterval.YEAR,
        func.coalesce(func.nullif(Plan.yearly_price_cents, 0), Plan.price_cents),
    ),
    else_=Plan.price_cents,
)
_YEARLY = Subscription.interval == BillingInterval.YEAR


@dataclass(frozen=True, order=True)
class Amount:
    """An amount of money: integer cents in one currency (lower-case ISO code)."""

    currency: str
    cents: int

    def __str__(self) -> str:
        return format_money(self.cents, self.currency.upper())


def _rate(part: int, whole: int) -> Decimal | None:
    """part / whole, to four places (half up); None when there is no whole to divide."""
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def percent(rate: Decimal | None) -> str:
    """0.125 -> "12.5 %"; None -> "—" (nothing to measure)."""
    if rate is None:
        return "—"
    value = (rate * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{value.normalize():f} %"


# --- counts ---------------------------------------------------------------------------


def subscription_counts(now: datetime | None = None) -> dict[str, int]:
    """Subscriptions of shops that are not deleted, by status (every status present,
    0 when none), plus "closed": shops whose storefront billing has closed
    (`Tenant.billing_closes_at` has passed). A closed shop is also counted under its
    subscription's status (past due or canceled)."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    rows = db.session.execute(
        select(Subscription.status, func.count(Subscription.id))
        .join(Tenant, Tenant.id == Subscription.tenant_id)
        .where(_live())
        .group_by(Subscription.status)
    ).all()
    for status, count in rows:
        counts[status] = count
    counts[CLOSED] = (
        db.session.scalar(
            select(func.count(Tenant.id)).where(_live(), Tenant.billing_closes_at <= _now(now))
        )
        or 0
    )
    return counts


# --- MRR ------------------------------------------------------------------------------


def _monthly_by_currency(*conditions: Any) -> dict[str, int]:
    """Monthly revenue, in cents per currency, of the subscriptions matching `conditions`:
    monthly ones at their price, yearly ones at their yearly price / 12. Yearly cents are
    summed first and divided once (rounded half up), so no cent is lost or made up per
    subscription."""
    rows = db.session.execute(
        select(func.lower(Plan.currency), _YEARLY, func.sum(_PERIOD_CENTS))
        .select_from(Subscription)
        .join(Plan, Plan.id == Subscription.plan_id)
        .join(Tenant, Tenant.id == Subscription.tenant_id)
        .where(_live(), *conditions)
        .group_by(func.lower(Plan.currency), _YEARLY)
    ).all()
    monthly: dict[str, int] = {}
    yearly: dict[str, int] = {}
    for currency, is_yearly, cents in rows:
        bucket = yearly if is_yearly else monthly
        bucket[currency] = bucket.get(currency, 0) + int(cents or 0)
    for currency, cents in yearly.items():
        monthly[currency] = monthly.get(currency, 0) + (cents + 6) // 12  # half up
    return monthly


def _amounts(by_currency: dict[str, int]) -> list[Amount]:
    return sorted(Amount(currency, cents) for currency, cents in by_currency.items())


def paying() -> Any:
    """The SQL condition for a paying subscription: active, or past due after having
    paid at least once (a trial that ran out unpaid is past due but never paid: it is
    no revenue to lose)."""
    ever_paid = (
        select(Invoice.id)
        .where(Invoice.tenant_id == Subscription.tenant_id, Invoice.amount_paid_cents > 0)
        .exists()
    )
    return or_(
        Subscription.status == SubscriptionStatus.ACTIVE,
        (Subscription.status == SubscriptionStatus.PAST_DUE) & ever_paid,
    )


def paying_count() -> int:
    query = (
        select(func.count(Subscription.id))
        .join(Tenant, Tenant.id == Subscription.tenant_id)
        .where(_live(), paying())
    )
    return db.session.scalar(query) or 0


def mrr() -> list[Amount]:
    """Monthly recurring revenue, one amount per currency (sorted by currency).

    Definition: the sum, over subscriptions of shops that are not deleted whose status
    is active or past due, of what one month of the subscription is worth: a monthly
    subscription's price, or a yearly subscription's yearly price divided by 12 (the
    yearly prices of a currency are summed first, then divided once, rounding half a
    cent up). Trials and canceled subscriptions count for nothing; a subscription set
    to cancel at the end of its period still counts until it ends (it is still paid
    for); a past-due one counts until it is canceled, if it ever paid (`paying`).
    Prices are the plan's current ones. Free plans count 0. Currencies are never added together.
    """
    return _amounts(_monthly_by_currency(paying()))


# --- churn ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RevenueChurn:
    """Monthly revenue lost in one currency over the window, against what there was."""

    currency: str
    lost_cents: int
    base_cents: int  # MRR now + the lost MRR: the approximate MRR at the window's start

    @property
    def rate(self) -> Decimal | None:
        return _rate(self.lost_cents, self.base_cents)

    @property
    def lost(self) -> Amount:
        return Amount(self.currency, self.lost_cents)


@dataclass(frozen=True)
class Churn:
    days: int
    canceled: int  # subscriptions canceled within the window
    base: int  # paying subscriptions at the window's start (approximated)
    revenue: list[RevenueChurn] = field(default_factory=list)

    @property
    def rate(self) -> Decimal | None:
        """canceled / base, to four places; None when nobody was paying."""
        return _rate(self.canceled, self.base)


def churn(days: int = 30, now: datetime | None = None) -> Churn:
    """Subscription churn over the last `days`.

    Definition: the subscriptions (of shops that are not deleted) canceled within the
    window — status canceled with `canceled_at` in the last `days` — divided by the
    subscriptions paying at the window's start. That start figure is approximated as
    the subscriptions paying now (active or past due) plus the ones canceled within the
    window: shops that started paying during the window are counted in it, which makes
    the rate slightly low when the platform grows. None when nobody was paying.

    Revenue churn, per currency: the monthly revenue (as in `mrr()`, at the plans'
    current prices) of the subscriptions canceled within the window, divided by MRR now
    plus that lost revenue.
    """
    end = _now(now)
    start = end - timedelta(days=days)
    in_window = (
        Subscription.status == SubscriptionStatus.CANCELED,
        Subscription.canceled_at > start,
        Subscription.canceled_at <= end,
    )
    canceled = (
        db.session.scalar(
            select(func.count(Subscription.id))
            .join(Tenant, Tenant.id == Subscription.tenant_id)
            .where(_live(), *in_window)
        )
        or 0
    )
    paying_now = paying_count()
    lost = _monthly_by_currency(*in_window)
    current = _monthly_by_currency(paying())
    revenue = [
        RevenueChurn(
            currency, lost.get(currency, 0), current.get(currency, 0) + lost.get(currency, 0)
        )
        for currency in sorted(set(lost) | set(current))
    ]
    return Churn(days=days, canceled=canceled, base=paying_now + canceled, revenue=revenue)


# --- the subscription list ------------------------------------------------------------


def subscriptions_query(status: str | None = None, now: datetime | None = None) -> Select:
    """(Subscription, Tenant, Plan) rows of shops that are not deleted, newest first;
    `status` is a subscription status or "closed" (None or "": all)."""
    query = (
        select(Subscription, Tenant, Plan)
        .join(Tenant, Tenant.id == Subscription.tenant_id)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(_live())
    )
    if status == CLOSED:
        query = query.where(Tenant.billing_closes_at <= _now(now))
    elif status:
        query = query.where(Subscription.status == status)
    return query.order_by(Subscription.created_at.desc(), Subscription.id.desc())


# --- failed payments ------------------------------------------------------------------


@dataclass(frozen=True)
class FailedPayment:
    invoice: Invoice
    tenant_id: int
    slug: str
    name: str
    closes_at: datetime | None  # when the shop's storefront closes (or closed)

    @property
    def amount(self) -> Amount:
        return Amount(self.invoice.currency.lower(), self.invoice.amount_due_cents)


def failed_payments(page: int = 1, per_page: int = 25) -> Page:
    """Open invoices with at least one failed payment attempt, newest first, each with
    its shop (deleted shops left out): a `Page` of `FailedPayment`. A paid, void or
    uncollectible invoice is no longer a failed payment to chase."""
    page = max(1, page)
    query = (
        select(Invoice, Tenant.slug, Tenant.name, Tenant.billing_closes_at)
        .join(Tenant, Tenant.id == Invoice.tenant_id)
        .where(_live(), Invoice.status == InvoiceStatus.OPEN, Invoice.attempt_count >= 1)
    )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.order_by(Invoice.issued_at.desc(), Invoice.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = [
        FailedPayment(invoice, invoice.tenant_id, slug, name, closes_at)
        for invoice, slug, name, closes_at in rows
    ]
    return Page(items, total, page, per_page)


# --- one shop's history ---------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a shop's billing history: an invoice or an audit event."""

    at: datetime
    invoice: Invoice | None = None
    event: AuditEvent | None = None

    @property
    def kind(self) -> str:
        return "invoice" if self.invoice is not None else "event"


def billing_history(tenant_id: int, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """The shop's invoices (by issue date) and billing audit events (`billing.*`, plan
    changes, trial extensions), merged newest first; at most `limit` entries. Only rows
    naming this shop are read: another shop's invoices never appear here."""
    invoices = db.session.scalars(
        select(Invoice)
        .where(Invoice.tenant_id == tenant_id)
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc())
        .limit(limit)
    ).all()
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.tenant_id == tenant_id,
            or_(AuditEvent.action.like("billing.%"), AuditEvent.action.in_(BILLING_ACTIONS)),
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    entries = [HistoryEntry(i.issued_at, invoice=i) for i in invoices]
    entries += [HistoryEntry(e.created_at, event=e) for e in events]
    # Stable: at equal times an invoice comes before the event that recorded it.
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]
