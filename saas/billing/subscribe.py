"""What a merchant does on the billing page: choose or change a plan, cancel at the
period's end, resume, open Stripe's customer portal.

With Stripe configured, the first payment goes through Stripe Checkout in subscription
mode and later changes through the subscription itself (with Stripe's proration);
without Stripe keys, billing is manual: choosing a plan switches it at once and the
operator records payments (`saas.billing.manual`).

Changes take a fresh idempotency key per request (the SDK's own retries reuse it); a
double click is stopped by the subscription row's lock instead: the second request
waits, then finds the change made ("already on that plan").

A trial keeps its remaining days when the merchant subscribes (Stripe starts charging
at the trial's end), because asking for a card should not cost a merchant free days.

Each action raises `BillingRefused` with a sentence for people, or changes the rows,
audits and flushes; the caller commits.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from saas import audit
from saas.billing import prices, standing
from saas.billing.limits import downgrade_problems, subscription
from saas.billing.sync import apply_subscription
from saas.db import db
from saas.models import BillingInterval, Plan, Subscription, SubscriptionStatus, Tenant
from saas.payments import stripe_api
from saas.payments.webhooks import STRIPE_ACTOR

# Stripe Checkout wants a trial to end at least 48 hours from now.
MIN_TRIAL_LEFT = timedelta(hours=49)


class BillingRefused(ValueError):
    """The billing action cannot be done; the message says why (and what to do)."""


def online() -> bool:
    """Whether merchants pay through Stripe (else billing is manual)."""
    return stripe_api.configured()


def locked_subscription(tenant_id: int) -> Subscription:
    """The shop's subscription, locked and read afresh (a second click waits here, then
    sees what the first one changed)."""
    row = subscription(tenant_id, lock=True)
    if row is None:
        raise BillingRefused("This shop has no plan yet. Please contact support.")
    return row


def live_in_stripe(row: Subscription) -> bool:
    """Whether a running Stripe subscription bills this shop."""
    return bool(row.stripe_subscription_id) and row.status != SubscriptionStatus.CANCELED


def _check_plan(row: Subscription, plan: Plan, interval: str) -> None:
    if interval not in (BillingInterval.MONTH, BillingInterval.YEAR):
        raise BillingRefused("Choose monthly or yearly billing.")
    if plan.retired:
        raise BillingRefused(f"The {plan.name} plan is no longer offered; choose another.")
    if plan.price_for(interval) is None:
        raise BillingRefused(f"The {plan.name} plan is sold by the month only.")
    if (
        row.plan_id == plan.id
        and row.interval == interval
        and row.status != SubscriptionStatus.CANCELED
        and (live_in_stripe(row) or not online())
    ):
        raise BillingRefused(f"You are already on the {plan.name} plan.")
    problems = downgrade_problems(row.tenant_id, plan)
    if problems:
        raise BillingRefused(
            f"Your shop uses more than the {plan.name} plan allows. First: " + " ".join(problems)
        )


def ensure_customer(tenant: Tenant, row: Subscription) -> str:
    """The shop's Stripe customer, made once (the idempotency key makes a retry or a
    double click return the same one). Flushes its id onto the subscription row."""
    if row.stripe_customer_id:
        return row.stripe_customer_id
    customer = stripe_api.create_customer(
        email=tenant.owner_email,
        name=tenant.name,
        metadata={"tenant_id": str(tenant.id), "shop": tenant.slug},
        idempotency_key=f"shop-customer-{tenant.id}",
    )
    row.stripe_customer_id = customer["id"]
    db.session.flush()
    return row.stripe_customer_id


def checkout_url(
    tenant: Tenant, plan: Plan, interval: str, *, success_url: str, cancel_url: str
) -> str:
    """Where to send the merchant to pay for `plan` on Stripe Checkout."""
    row = locked_subscription(tenant.id)
    _check_plan(row, plan, interval)
    if live_in_stripe(row):
        raise BillingRefused("You already pay through Stripe: change your plan instead.")
    customer = ensure_customer(tenant, row)
    price = prices.price_id(plan, interval)
    trial_end = None
    if (
        row.status == SubscriptionStatus.TRIALING
        and row.trial_ends_at
        and row.trial_ends_at - standing.now() >= MIN_TRIAL_LEFT
    ):
        trial_end = row.trial_ends_at
    # One session per shop, plan, previous subscription and quarter hour: a double click
    # opens the same page; subscribing again after a plan ended opens a new one.
    bucket = f"{row.stripe_subscription_id or 'first'}-{int(time.time() // 900)}"
    session = stripe_api.create_subscription_checkout(
        customer=customer,
        price=price,
        success_url=success_url,
        cancel_url=cancel_url,
        metadata={"tenant_id": str(tenant.id), "plan_id": str(plan.id), "interval": interval},
        client_reference_id=str(tenant.id),
        idempotency_key=f"plan-checkout-{tenant.id}-{price}-{bucket}",
        trial_end=trial_end,
    )
    if not session.url:
        raise BillingRefused("Stripe did not open a payment page. Please try again.")
    audit.record(
        "billing.checkout_started",
        tenant_id=tenant.id,
        plan=plan.code,
        interval=interval,
        session=session.id,
    )
    return session.url


def complete_checkout(tenant: Tenant, session_id: str) -> bool:
    """Back from Checkout: take the new subscription now rather than wait for the
    webhook (which then changes nothing). Only a session of this shop's own customer
    counts. Returns whether the subscription is in place."""
    row = locked_subscription(tenant.id)
    if not row.stripe_customer_id or not session_id.startswith("cs_"):
        return False
    session = stripe_api.retrieve_checkout_session(None, session_id)  # type: ignore[arg-type]
    raw = session.raw
    if (
        raw.get("customer") != row.stripe_customer_id
        or raw.get("client_reference_id") != str(tenant.id)
        or raw.get("mode") != "subscription"
        or session.status != "complete"
        or not raw.get("subscription")
    ):
        return False
    return adopt(row, str(raw["subscription"]), why="returned from Checkout")


def adopt(row: Subscription, subscription_id: str, *, why: str) -> bool:
    """Follow the Stripe subscription `subscription_id` of this shop's customer."""
    data = stripe_api.retrieve_subscription(subscription_id)
    if data.get("customer") != row.stripe_customer_id:
        return False
    apply_subscription(row, data, why=why)
    return row.stripe_subscription_id == subscription_id


def change_plan(tenant: Tenant, plan: Plan, interval: str, *, actor: Any = None) -> str:
    """Move the shop to `plan`: through Stripe (prorated) when Stripe bills it, else at
    once. Returns a sentence saying what happened."""
    row = locked_subscription(tenant.id)
    _check_plan(row, plan, interval)
    old_plan, old_interval = row.plan, row.interval
    if live_in_stripe(row):
        assert row.stripe_subscription_id
        current = stripe_api.retrieve_subscription(row.stripe_subscription_id)
        items = (current.get("items") or {}).get("data") or []
        if not items:
            raise BillingRefused("Stripe shows no plan on your subscription. Contact support.")
        price = prices.price_id(plan, interval)
        dearer = _monthly(plan, interval) > _monthly(old_plan, old_interval)
        # Upgrades are charged now (the prorated difference); downgrades leave a credit
        # that the next invoice uses up.
        behaviour = "always_invoice" if dearer else "create_prorations"
        updated = stripe_api.update_subscription(
            row.stripe_subscription_id,
            {"items": [{"id": items[0]["id"], "price": price}], "proration_behavior": behaviour},
            idempotency_key=f"plan-change-{row.stripe_subscription_id}-{uuid.uuid4().hex}",
        )
        updated = stripe_api.retrieve_subscription(updated["id"])
        apply_subscription(row, updated, why="plan changed in the back office")
        message = (
            f"You are now on the {plan.name} plan. The difference for the rest of this period "
            "has been charged."
            if dearer
            else f"You are now on the {plan.name} plan. What you paid for the rest of this "
            "period is credited to your next invoice."
        )
    else:
        row.plan_id = plan.id
        row.interval = interval
        if row.status == SubscriptionStatus.CANCELED:
            row.status = SubscriptionStatus.ACTIVE if not plan.trial_days else row.status
        message = f"You are now on the {plan.name} plan."
    audit.record(
        "billing.plan_changed",
        tenant_id=tenant.id,
        actor=actor,
        old_plan=old_plan.code,
        new_plan=plan.code,
        old_interval=old_interval,
        new_interval=interval,
    )
    db.session.flush()
    return message


def _monthly(plan: Plan, interval: str) -> float:
    amount = plan.price_for(interval) or 0
    return amount / 12 if interval == BillingInterval.YEAR else amount


def set_cancel_at_period_end(tenant: Tenant, cancel: bool, *, actor: Any = None) -> str:
    """Cancel at the period's end (the shop keeps everything until then), or resume."""
    row = locked_subscription(tenant.id)
    if row.status == SubscriptionStatus.CANCELED:
        raise BillingRefused("Your plan has ended. Choose a plan to reopen your shop.")
    if row.cancel_at_period_end == cancel:
        raise BillingRefused(
            "Your plan is already set to end." if cancel else "Your plan is not cancelled."
        )
    if live_in_stripe(row):
        assert row.stripe_subscription_id
        stripe_api.update_subscription(
            row.stripe_subscription_id,
            {"cancel_at_period_end": cancel},
            idempotency_key=f"cancel-{row.stripe_subscription_id}-{uuid.uuid4().hex}",
        )
        data = stripe_api.retrieve_subscription(row.stripe_subscription_id)
        apply_subscription(row, data, why="cancelled" if cancel else "resumed")
    else:
        row.cancel_at_period_end = cancel
    audit.record(
        "billing.cancel_requested" if cancel else "billing.resumed",
        tenant_id=tenant.id,
        actor=actor,
    )
    db.session.flush()
    end = row.trial_ends_at if row.status == SubscriptionStatus.TRIALING else row.current_period_end
    when = f" on {end:%d %B %Y}" if end else " at the end of this period"
    if cancel:
        return f"Your plan will end{when}. Your shop stays open until then."
    return "Your plan continues. Nothing changes."


def portal_url(tenant: Tenant, return_url: str) -> str:
    row = locked_subscription(tenant.id)
    if not row.stripe_customer_id:
        raise BillingRefused("Choose a plan first: there is no card to update yet.")
    return stripe_api.create_portal_session(row.stripe_customer_id, return_url)


def stop_billing_job(tenant_id: int) -> str:
    """Job, after a shop is deleted: end its Stripe subscription at once, so the merchant
    is never charged for a shop that is gone. (Restoring the shop brings it back without
    a plan being billed: the merchant chooses one again.)"""
    row = subscription(tenant_id, lock=True)
    if row is None or not live_in_stripe(row):
        return "no Stripe subscription to stop"
    assert row.stripe_subscription_id
    data = stripe_api.cancel_subscription(row.stripe_subscription_id)
    apply_subscription(row, data, why="shop deleted")
    audit.record("billing.stopped", tenant_id=tenant_id, actor=STRIPE_ACTOR, reason="shop deleted")
    return f"subscription {data['id']} cancelled"
