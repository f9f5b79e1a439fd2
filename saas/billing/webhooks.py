"""Stripe Billing's webhooks: our subscriptions follow Stripe's.

Registered on the platform's own account (`scope="platform"`) with the dispatcher in
`saas.payments.webhooks`, which verifies signatures, drops duplicates by event id and
commits each event once with its effects.

Stripe delivers late, twice and in any order, so no handler trusts the object inside
the event: each refetches the subscription (or invoice) and applies Stripe's state as
it is now (`saas.billing.sync`). An old event then repeats the present, which changes
nothing. A shop is found only through the Stripe customer we made for it; an event
about any other customer changes nothing anywhere.
"""

from __future__ import annotations

import logging

from saas.billing import dunning, standing
from saas.billing.sync import (
    apply_subscription,
    invoice_subscription,
    record_invoice,
    subscription_of_customer,
    subscription_of_stripe,
)
from saas.db import db
from saas.models import Subscription, Tenant
from saas.money import format_money
from saas.payments import stripe_api
from saas.payments.stripe_api import WebhookEvent
from saas.payments.webhooks import STRIPE_ACTOR, Handler, RetryLater

log = logging.getLogger(__name__)


def _fetch_subscription(subscription_id: str) -> dict:
    try:
        return stripe_api.retrieve_subscription(subscription_id)
    except stripe_api.StripeFailure as failure:
        # Stripe delivers the event again later; by then it can be read.
        raise RetryLater(f"Could not read subscription {subscription_id}: {failure}") from failure


def _follow(row: Subscription, subscription_id: str, event: WebhookEvent) -> None:
    data = _fetch_subscription(subscription_id)
    if data.get("customer") != row.stripe_customer_id:
        log.warning(
            "event %s: subscription %s is not of shop %s's customer: ignored",
            event.id,
            subscription_id,
            row.tenant_id,
        )
        return
    apply_subscription(row, data, why=event.type)


def checkout_completed(event: WebhookEvent) -> None:
    session = event.object
    if session.get("mode") != "subscription" or not session.get("subscription"):
        return
    row = subscription_of_customer(session.get("customer"))
    if row is None or session.get("client_reference_id") != str(row.tenant_id):
        log.warning(
            "event %s: checkout %s names customer %s / shop %s, which do not match: ignored",
            event.id,
            session.get("id"),
            session.get("customer"),
            session.get("client_reference_id"),
        )
        return
    _follow(row, str(session["subscription"]), event)


def subscription_changed(event: WebhookEvent) -> None:
    row = subscription_of_stripe(event.object)
    if row is None:
        log.warning(
            "event %s: subscription %s of no shop: ignored", event.id, event.object.get("id")
        )
        return
    _follow(row, str(event.object["id"]), event)


def invoice_changed(event: WebhookEvent) -> None:
    row = subscription_of_customer(event.object.get("customer"))
    if row is None:
        log.warning("event %s: invoice %s of no shop: ignored", event.id, event.object.get("id"))
        return
    try:
        data = stripe_api.retrieve_invoice(str(event.object["id"]))
    except stripe_api.StripeFailure as failure:
        raise RetryLater(f"Could not read invoice {event.object['id']}: {failure}") from failure
    if data.get("customer") != row.stripe_customer_id:
        return
    invoice = record_invoice(row.tenant_id, data)
    subscription_id = invoice_subscription(data)
    if subscription_id:
        _follow(row, subscription_id, event)
    if event.type == "invoice.payment_failed" and invoice.status == "open":
        tenant = db.session.get(Tenant, row.tenant_id)
        assert tenant is not None
        if row.past_due_since is None:  # Stripe has not moved the subscription yet
            standing.enter_past_due(
                row, standing.now(), actor=STRIPE_ACTOR, reason="payment failed"
            )
        dunning.notify(
            row.tenant_id,
            "payment_failed",
            f"{invoice.stripe_invoice_id}-{invoice.attempt_count}",
            amount=format_money(invoice.amount_due_cents, invoice.currency.upper()),
            date=dunning.day(tenant.billing_closes_at),
        )


def trial_will_end(event: WebhookEvent) -> None:
    row = subscription_of_stripe(event.object)
    if row is None or row.stripe_subscription_id not in (None, event.object.get("id")):
        return
    tenant = db.session.get(Tenant, row.tenant_id)
    assert tenant is not None
    data = _fetch_subscription(str(event.object["id"]))
    if data.get("customer") != row.stripe_customer_id:
        return
    apply_subscription(row, data, why=event.type)
    if data.get("status") == "trialing":
        dunning.remind_trial(row, tenant)


# What the platform's Stripe account tells us, registered by `create_app`.
HANDLERS: tuple[tuple[str, Handler], ...] = (
    ("checkout.session.completed", checkout_completed),
    ("customer.subscription.created", subscription_changed),
    ("customer.subscription.updated", subscription_changed),
    ("customer.subscription.deleted", subscription_changed),
    ("invoice.paid", invoice_changed),
    ("invoice.payment_failed", invoice_changed),
    ("invoice.finalized", invoice_changed),
    ("customer.subscription.trial_will_end", trial_will_end),
)
