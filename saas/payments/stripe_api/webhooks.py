"""Verifying Stripe's webhook deliveries and reading them as plain `WebhookEvent`s."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import stripe

# Public functions are called through the package so that a test's monkeypatch of
# `stripe_api.<name>` reaches these callers too (see the package's docstring).
from saas.payments import stripe_api

WEBHOOK_TOLERANCE = 300  # seconds a signed webhook stays acceptable (Stripe's default)


class WebhookInvalid(ValueError):
    """A webhook delivery failed verification: bad or missing signature, stale, malformed."""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified Stripe event, as plain data.

    `account` is the connected account it happened on (None for the platform's own
    account); `created` (Unix time) orders events, which Stripe may deliver in any order.
    """

    id: str
    type: str
    account: str | None
    created: int
    livemode: bool
    object: dict[str, Any]  # data.object: the checkout session, invoice, ...
    previous_attributes: dict[str, Any] | None = None


def construct_event(payload: bytes, signature_header: str | None) -> WebhookEvent:
    """Verify a webhook delivery with the SDK (`Stripe-Signature`, 300 s tolerance).

    Raises:
        WebhookInvalid: bad, missing or stale signature, or a body that is no event.
    """
    secrets_ = stripe_api.webhook_secrets()
    if not secrets_:
        raise WebhookInvalid("Stripe webhooks are not configured on this platform.")
    if not signature_header:
        raise WebhookInvalid("The Stripe-Signature header is missing.")
    problem = "The signature does not match."
    # The SDK's signature check alone: its `Webhook.construct_event` would also build its
    # own event object and fail with a TypeError on a signed body such as `[]` or `null`;
    # the body is read below, where any shape that is no event is a WebhookInvalid.
    for secret in secrets_:
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature_header, secret, WEBHOOK_TOLERANCE
            )
        except stripe.SignatureVerificationError as error:
            problem = str(getattr(error, "_message", None) or error)
            continue
        break
    else:
        raise WebhookInvalid(problem)
    try:
        data = json.loads(payload)
    except ValueError as error:  # verified, but not JSON
        raise WebhookInvalid("The body is not a JSON event.") from error
    try:
        data_object = data["data"]["object"]
        event = WebhookEvent(
            id=str(data["id"]),
            type=str(data["type"]),
            account=data.get("account") or None,
            created=int(data.get("created") or 0),
            livemode=bool(data.get("livemode")),
            object=dict(data_object),
            previous_attributes=data["data"].get("previous_attributes"),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise WebhookInvalid("The body is not a Stripe event.") from error
    if data.get("object") != "event" or not event.id.startswith("evt_"):
        raise WebhookInvalid("The body is not a Stripe event.")
    return event
