"""Shopper payments on the merchant's connected account: Checkout sessions, payments,
refunds.

Every call takes the shop's `account_id` and sends it as the `Stripe-Account` header, so
the money and the objects belong to the merchant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import stripe

# Public functions are called through the package so that a test's monkeypatch of
# `stripe_api.<name>` reaches these callers too (see the package's docstring).
from saas.payments import stripe_api
from saas.payments.stripe_api.client import failure, plain, request_options, stripe_client


@dataclass(frozen=True)
class LineItem:
    """One line on Stripe's hosted payment page, in minor units of `currency`."""

    name: str
    unit_amount: int
    quantity: int
    currency: str


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None  # where to send the shopper; None once complete or expired
    status: str  # open | complete | expired
    payment_status: str  # unpaid | paid | no_payment_required
    payment_intent: str | None
    amount_total: int | None
    currency: str | None
    expires_at: int | None  # Unix time
    metadata: dict[str, str] = field(default_factory=dict)
    customer_email: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> CheckoutSession:
        intent = data.get("payment_intent")
        if isinstance(intent, Mapping):  # expanded
            intent = intent.get("id")
        details = data.get("customer_details") or {}
        return cls(
            id=data["id"],
            url=data.get("url"),
            status=data.get("status") or "open",
            payment_status=data.get("payment_status") or "unpaid",
            payment_intent=intent,
            amount_total=data.get("amount_total"),
            currency=data.get("currency"),
            expires_at=data.get("expires_at"),
            metadata=dict(data.get("metadata") or {}),
            customer_email=details.get("email") or data.get("customer_email"),
            raw=dict(data),
        )


def create_checkout_session(
    account_id: str,
    line_items: Sequence[LineItem],
    *,
    success_url: str,
    cancel_url: str,
    metadata: Mapping[str, str],
    idempotency_key: str,
    expires_at: datetime | None = None,
    customer_email: str | None = None,
    client_reference_id: str | None = None,
    application_fee_amount: int | None = None,
) -> CheckoutSession:
    """Open a Stripe Checkout session (mode=payment) on the merchant's account.

    Args:
        account_id: the shop's connected account (`ShopSettings.stripe_account_id`).
        line_items: what the shopper pays for; all in one currency.
        success_url: where Stripe sends the shopper after paying; `{CHECKOUT_SESSION_ID}`
            in it is replaced by the session's id.
        cancel_url: where "back" on Stripe's page leads.
        metadata: copied onto the session and its payment intent (e.g. the order id), so
            webhooks can find what they are about.
        idempotency_key: the same key makes the same session (use the order's key).
        expires_at: when the session expires (Stripe allows 30 minutes to 24 hours).
        application_fee_amount: the platform's cut, in minor units.

    Raises:
        StripeFailure: with a message for people.
    """
    if not line_items:
        raise ValueError("a checkout session needs at least one line item")
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": item.quantity,
                "price_data": {
                    "currency": item.currency.lower(),
                    "unit_amount": item.unit_amount,
                    "product_data": {"name": item.name[:250] or "Item"},
                },
            }
            for item in line_items
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "metadata": dict(metadata),
        "payment_intent_data": {"metadata": dict(metadata)},
    }
    if expires_at is not None:
        params["expires_at"] = int(expires_at.timestamp())
    if customer_email:
        params["customer_email"] = customer_email
    if client_reference_id:
        params["client_reference_id"] = client_reference_id
    if application_fee_amount:
        params["payment_intent_data"]["application_fee_amount"] = application_fee_amount
    try:
        session = stripe_client().v1.checkout.sessions.create(
            cast(Any, params), request_options(account_id, idempotency_key)
        )
    except stripe.StripeError as error:
        raise failure(error, "creating a checkout session") from error
    return CheckoutSession.of(plain(session))


def retrieve_checkout_session(account_id: str, session_id: str) -> CheckoutSession:
    """A checkout session as Stripe has it now (for reconciliation, or a success page)."""
    try:
        session = stripe_client().v1.checkout.sessions.retrieve(
            session_id, None, request_options(account_id)
        )
    except stripe.StripeError as error:
        raise failure(error, "reading a checkout session") from error
    return CheckoutSession.of(plain(session))


def expire_checkout_session(account_id: str, session_id: str) -> CheckoutSession:
    """End an open session so it can no longer be paid (Stripe then sends
    `checkout.session.expired`). A session already complete or expired is returned as
    it is: the caller decides from its `status`."""
    client = stripe_client()
    try:
        session = client.v1.checkout.sessions.expire(session_id, None, request_options(account_id))
    except stripe.InvalidRequestError as error:
        if error.http_status == 400:  # no longer open: report what it is instead
            return stripe_api.retrieve_checkout_session(account_id, session_id)
        raise failure(error, "expiring a checkout session") from error
    except stripe.StripeError as error:
        raise failure(error, "expiring a checkout session") from error
    return CheckoutSession.of(plain(session))


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    amount: int
    amount_received: int
    currency: str
    status: str
    latest_charge: str | None
    metadata: dict[str, str] = field(default_factory=dict)


def retrieve_payment_intent(account_id: str, payment_intent: str) -> PaymentIntent:
    try:
        data = plain(
            stripe_client().v1.payment_intents.retrieve(
                payment_intent, None, request_options(account_id)
            )
        )
    except stripe.StripeError as error:
        raise failure(error, "reading a payment") from error
    charge = data.get("latest_charge")
    return PaymentIntent(
        id=data["id"],
        amount=data.get("amount") or 0,
        amount_received=data.get("amount_received") or 0,
        currency=data.get("currency") or "",
        status=data.get("status") or "",
        latest_charge=charge.get("id") if isinstance(charge, Mapping) else charge,
        metadata=dict(data.get("metadata") or {}),
    )


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    currency: str
    status: str  # succeeded | pending | failed | canceled | requires_action
    payment_intent: str | None


def refund(
    account_id: str,
    payment_intent: str,
    amount: int,
    idempotency_key: str,
    *,
    reason: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Refund:
    """Give `amount` (minor units) of a payment back to the shopper.

    Args:
        reason: Stripe's reason code, if any: duplicate, fraudulent, requested_by_customer.
        idempotency_key: the same key makes one refund however often it is retried (use
            a key recorded with the refund row before calling).

    Raises:
        StripeFailure: e.g. the amount is more than what is left to refund.
    """
    if amount <= 0:
        raise ValueError("a refund needs a positive amount")
    params: dict[str, Any] = {"payment_intent": payment_intent, "amount": amount}
    if reason:
        params["reason"] = reason
    if metadata:
        params["metadata"] = dict(metadata)
    try:
        data = plain(
            stripe_client().v1.refunds.create(
                cast(Any, params), request_options(account_id, idempotency_key)
            )
        )
    except stripe.StripeError as error:
        raise failure(error, "refunding a payment") from error
    return Refund(
        id=data["id"],
        amount=data.get("amount") or amount,
        currency=data.get("currency") or "",
        status=data.get("status") or "pending",
        payment_intent=data.get("payment_intent"),
    )
