"""Merchants' subscriptions, on the platform's own account: customers, prices,
subscription Checkout, subscriptions, invoices and the customer portal.

These return Stripe's objects as plain dicts; `saas.billing.sync` reads them. None of
them takes an account: subscriptions belong to the platform, not to a merchant.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import stripe

from saas.payments.stripe_api.checkout import CheckoutSession
from saas.payments.stripe_api.client import failure, plain, request_options, stripe_client


def _call(doing: str, method: Any, *args: Any) -> dict[str, Any]:
    try:
        return plain(method(*args))
    except stripe.StripeError as error:
        raise failure(error, doing) from error


def _write(doing: str, method: Any, *args: Any, idempotency_key: str) -> dict[str, Any]:
    """A call that creates or changes something, sent with its idempotency key so that a
    retried request does it once."""
    return _call(doing, method, *args, request_options(None, idempotency_key))


def create_customer(
    *, email: str | None, name: str, metadata: Mapping[str, str], idempotency_key: str
) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name[:250], "metadata": dict(metadata)}
    if email:
        params["email"] = email
    return _write(
        "creating a customer",
        stripe_client().v1.customers.create,
        params,
        idempotency_key=idempotency_key,
    )


def create_price(
    *,
    product_name: str,
    amount: int,
    currency: str,
    interval: str,
    lookup_key: str,
    metadata: Mapping[str, str],
    idempotency_key: str,
) -> dict[str, Any]:
    """A recurring price (and its product) for one plan at one amount and interval."""
    params = {
        "currency": currency.lower(),
        "unit_amount": amount,
        "recurring": {"interval": interval},
        "product_data": {"name": product_name[:250]},
        "lookup_key": lookup_key,
        "transfer_lookup_key": True,
        "metadata": dict(metadata),
    }
    return _write(
        "creating a price",
        stripe_client().v1.prices.create,
        params,
        idempotency_key=idempotency_key,
    )


def create_subscription_checkout(
    *,
    customer: str,
    price: str,
    success_url: str,
    cancel_url: str,
    metadata: Mapping[str, str],
    client_reference_id: str,
    idempotency_key: str,
    trial_end: datetime | None = None,
) -> CheckoutSession:
    """Open Stripe Checkout in subscription mode for the platform's `customer`."""
    subscription_data: dict[str, Any] = {"metadata": dict(metadata)}
    if trial_end is not None:
        subscription_data["trial_end"] = int(trial_end.timestamp())
    params = {
        "mode": "subscription",
        "customer": customer,
        "line_items": [{"price": price, "quantity": 1}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "metadata": dict(metadata),
        "subscription_data": subscription_data,
    }
    data = _write(
        "opening a subscription checkout",
        stripe_client().v1.checkout.sessions.create,
        params,
        idempotency_key=idempotency_key,
    )
    return CheckoutSession.of(data)


def retrieve_subscription(subscription_id: str) -> dict[str, Any]:
    """A subscription as Stripe has it now, its default payment method expanded."""
    return _call(
        "reading a subscription",
        stripe_client().v1.subscriptions.retrieve,
        subscription_id,
        {"expand": ["default_payment_method"]},
    )


def update_subscription(
    subscription_id: str, params: Mapping[str, Any], idempotency_key: str
) -> dict[str, Any]:
    return _write(
        "changing a subscription",
        stripe_client().v1.subscriptions.update,
        subscription_id,
        dict(params),
        idempotency_key=idempotency_key,
    )


def cancel_subscription(subscription_id: str) -> dict[str, Any]:
    """End a subscription now (not at its period's end)."""
    return _call(
        "cancelling a subscription", stripe_client().v1.subscriptions.cancel, subscription_id
    )


def list_subscriptions(customer: str) -> list[dict[str, Any]]:
    data = _call(
        "listing subscriptions",
        stripe_client().v1.subscriptions.list,
        {"customer": customer, "status": "all", "limit": 100},
    )
    return list(data.get("data") or [])


def retrieve_invoice(invoice_id: str) -> dict[str, Any]:
    return _call("reading an invoice", stripe_client().v1.invoices.retrieve, invoice_id)


def list_invoices(customer: str, limit: int = 100) -> list[dict[str, Any]]:
    data = _call(
        "listing invoices",
        stripe_client().v1.invoices.list,
        {"customer": customer, "limit": limit},
    )
    return list(data.get("data") or [])


def create_portal_session(customer: str, return_url: str) -> str:
    """The URL of Stripe's customer portal for `customer` (update the card, see invoices)."""
    data = _call(
        "opening the billing portal",
        stripe_client().v1.billing_portal.sessions.create,
        {"customer": customer, "return_url": return_url},
    )
    return str(data["url"])
