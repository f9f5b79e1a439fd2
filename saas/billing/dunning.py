"""Telling the owner, and the clock: failed payments, reminders, trial endings.

Notices go to the shop owner's address through the shop's own outbox (so the back
office shows them), sent by jobs with a dedupe key, so a retried job or a redelivered
webhook never mails twice.

`sweep()` is what the clock does, run by cron (`flask billing sweep`, hourly; see
deploy/): a trial that ended without a paid plan, or a manually billed period that
ran out, becomes past due like a failed payment; reminders go out on the days of
`BILLING_REMINDER_DAYS`; the owner hears when the storefront closes; plans cancelled
in manual mode end. Closing itself needs no sweep (`Tenant.billing_closes_at`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from saas.billing import standing
from saas.billing.batch import each_subscription
from saas.db import db
from saas.jobs import enqueue
from saas.mail import send_email
from saas.models import Subscription, SubscriptionStatus, Tenant, TenantStatus
from saas.tenancy import current_tenant, tenant_context
from saas.tenancy.sites import absolute_url, shop_host

log = logging.getLogger(__name__)

SYSTEM = ("system", None, "billing")

SUBJECTS = {
    "payment_failed": "Your payment for {shop} failed",
    "reminder": "Reminder: the payment for {shop} is overdue",
    "closed": "{shop} is closed until your plan is paid",
    "trial_ending": "Your free trial of {shop} ends on {date}",
    "trial_ended": "Your free trial of {shop} has ended",
}


def reminder_days() -> list[int]:
    raw = str(current_app.config["BILLING_REMINDER_DAYS"])
    return sorted({int(part) for part in raw.split(",") if part.strip().isdigit()})


def notify(tenant_id: int, kind: str, key: str, **facts: str) -> None:
    """Queue one notice to the owner. Call after (or within) the transaction that
    decided it: the job reads nothing that transaction writes."""
    if kind not in SUBJECTS:
        raise ValueError(f"unknown billing notice {kind!r}")
    enqueue(send_notice, kind, f"billing-{kind}-{key}", facts, tenant_id=tenant_id)


def _body(kind: str, shop: str, billing_url: str, facts: dict[str, str]) -> str:
    date = facts.get("date", "")
    amount = facts.get("amount", "")
    texts = {
        "payment_failed": (
            f"We could not take the payment{f' of {amount}' if amount else ''} for {shop}.\n"
            f"Your shop stays open until {date}. Update your card or pay now on the billing "
            f"page, and everything carries on as before:\n{billing_url}"
        ),
        "reminder": (
            f"The payment for {shop} is still overdue. Your storefront closes to shoppers "
            f"on {date} unless the plan is paid:\n{billing_url}"
        ),
        "closed": (
            f"{shop} is closed to shoppers because its plan is unpaid. Your products, "
            f"orders and settings are safe. Pay on the billing page and the shop reopens "
            f"at once:\n{billing_url}"
        ),
        "trial_ending": (
            f"Your free trial of {shop} ends on {date}. Choose a plan to keep selling "
            f"without a break:\n{billing_url}"
        ),
        "trial_ended": (
            f"Your free trial of {shop} has ended. Your shop stays open until {date}; "
            f"choose a plan to keep it open:\n{billing_url}"
        ),
    }
    return texts[kind] + "\n"


def send_notice(kind: str, dedupe_key: str, facts: dict[str, str]) -> None:
    """Job: mail one notice to the current shop's owner."""
    tenant = db.session.get(Tenant, current_tenant.id)
    if tenant is None or not tenant.owner_email:
        log.warning("billing notice %s for shop %s: no owner address", kind, current_tenant.id)
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    billing_url = absolute_url(app, shop_host(app, tenant.slug), "/admin/billing")
    subject = SUBJECTS[kind].format(shop=tenant.name, date=facts.get("date", ""))
    send_email(
        tenant.owner_email,
        subject,
        _body(kind, tenant.name, billing_url, facts),
        dedupe_key=dedupe_key,
    )


def day(value: datetime | None) -> str:
    return f"{value:%d %B %Y}" if value else ""


# --- the clock ------------------------------------------------------------------------


@dataclass
class SweepReport:
    trials_ended: int = 0
    periods_lapsed: int = 0
    plans_ended: int = 0
    trial_reminders: int = 0
    reminders: int = 0
    closed: int = 0
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.trials_ended} trials ended, {self.periods_lapsed} unpaid periods, "
            f"{self.plans_ended} plans ended, {self.trial_reminders} trial reminders, "
            f"{self.reminders} payment reminders, {self.closed} shops closed"
            + (f", {len(self.failed)} failed" if self.failed else "")
        )


def sweep_ids() -> list[int]:
    """The subscriptions the sweep looks at: running ones of shops not deleted."""
    return list(
        db.session.scalars(
            select(Subscription.id)
            .join(Tenant, Tenant.id == Subscription.tenant_id)
            .where(
                Tenant.status != TenantStatus.DELETED,
                Subscription.status != SubscriptionStatus.CANCELED,
            )
            .order_by(Subscription.id)
        )
    )


def sweep(
    at: datetime | None = None, progress: Callable[[int, int], Any] | None = None
) -> SweepReport:
    """Move every shop's billing along the clock (idempotent: run it as often as you
    like). Each shop in its own transaction; one failing does not stop the rest."""
    now = at or standing.now()
    ids = sweep_ids()
    report = SweepReport()
    each_subscription(
        ids,
        lambda subscription_id: _sweep_one(subscription_id, now, report),
        failed=report.failed,
        progress=progress,
        what="billing sweep",
    )
    log.info("billing sweep: %s", report)
    return report


def _sweep_one(subscription_id: int, now: datetime, report: SweepReport) -> None:
    row = db.session.get(Subscription, subscription_id, with_for_update=True)
    if row is None or row.status == SubscriptionStatus.CANCELED:
        return
    tenant = db.session.get(Tenant, row.tenant_id)
    assert tenant is not None
    manual = not row.stripe_subscription_id  # Stripe runs the clock of its subscriptions
    if manual and row.status == SubscriptionStatus.TRIALING and row.trial_ends_at:
        if row.trial_ends_at <= now:
            if _lapse(row, row.trial_ends_at, report, "trial ended without a paid plan"):
                report.trials_ended += 1
                notify(
                    tenant.id,
                    "trial_ended",
                    f"{tenant.id}-{row.trial_ends_at:%s}",
                    date=day(tenant.billing_closes_at),
                )
        elif row.trial_reminder_sent_at is None and (row.trial_ends_at - now).days < int(
            current_app.config["TRIAL_REMINDER_DAYS"]
        ):
            remind_trial(row, tenant)
            report.trial_reminders += 1
    period_end = row.current_period_end
    lapsed = manual and row.status == SubscriptionStatus.ACTIVE and period_end and period_end <= now
    if lapsed and _lapse(row, period_end, report, "paid period ended unpaid"):  # type: ignore[arg-type]
        report.periods_lapsed += 1
    if row.status == SubscriptionStatus.PAST_DUE and row.past_due_since:
        _dun(row, tenant, now, report)


def _lapse(row: Subscription, at: datetime, report: SweepReport, why: str) -> bool:
    """A trial or paid period ran out at `at`: a plan cancelled for then ends; any other
    becomes past due, like a failed payment. Returns whether it became past due."""
    if row.cancel_at_period_end:
        standing.end(row, at, actor=SYSTEM, reason="plan ended as cancelled")
        report.plans_ended += 1
        return False
    standing.enter_past_due(row, at, actor=SYSTEM, reason=why)
    return True


def _dun(row: Subscription, tenant: Tenant, now: datetime, report: SweepReport) -> None:
    schedule = reminder_days()
    episode = f"{tenant.id}-{row.past_due_since:%s}"
    closes = tenant.billing_closes_at
    if closes is not None and closes <= now:
        if row.dunning_notices <= len(schedule):
            row.dunning_notices = len(schedule) + 1
            notify(tenant.id, "closed", episode)
            report.closed += 1
        return
    sent = row.dunning_notices
    assert row.past_due_since is not None
    elapsed = (now - row.past_due_since).days
    due = sum(1 for d in schedule if d <= elapsed)
    if due > sent:
        row.dunning_notices = due
        notify(tenant.id, "reminder", f"{episode}-{due}", date=day(closes))
        report.reminders += 1


def remind_trial(row: Subscription, tenant: Tenant) -> None:
    """The trial ends soon: tell the owner once per trial."""
    if row.trial_reminder_sent_at is not None or row.trial_ends_at is None:
        return
    row.trial_reminder_sent_at = standing.now()
    notify(
        tenant.id,
        "trial_ending",
        f"{tenant.id}-{row.trial_ends_at:%s}",
        date=day(row.trial_ends_at),
    )


def sweep_job() -> str:
    """RQ entry point (no tenant): the same as `flask billing sweep`."""
    with tenant_context(None):
        return str(sweep())
