"""The one module that talks to Stripe, through the official `stripe` SDK.

Callers get plain data back (the dataclasses below, dicts for raw Stripe objects),
never SDK objects, so nothing else in the code base imports `stripe`.

Settings come from the app config at call time (`saas.config`): `STRIPE_SECRET_KEY`,
`STRIPE_PUBLISHABLE_KEY`, `STRIPE_WEBHOOK_SECRET` (one or more, comma-separated),
`STRIPE_CONNECT_CLIENT_ID`, and the base URLs `STRIPE_API_BASE` / `STRIPE_CONNECT_BASE`,
which tests point at the local fake Stripe server (`tests/fakes/stripe_server.py`).
With no keys, `configured()` is false and the pages that offer Stripe say so.

Shopper payments act on the merchant's own account, connected through Stripe Connect
(OAuth, Standard accounts): every call that takes an `account_id` sends it as the
`Stripe-Account` header, so the money and the objects belong to the merchant.

Every POST takes an idempotency key from the caller: retrying the same logical action
(a double click, a job run twice, the SDK's own network retries) makes one object.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

import stripe
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from stripe import oauth_error

log = logging.getLogger(__name__)

WEBHOOK_TOLERANCE = 300  # seconds a signed webhook stays acceptable (Stripe's default)
CONNECT_STATE_MAX_AGE = 3600  # seconds a "Connect Stripe" round trip may take
REQUEST_TIMEOUT = 20  # seconds; the SDK's default of 80 would hold a web worker too long
NETWORK_RETRIES = 2  # the SDK retries only what is safe: our idempotency keys make POSTs so


class StripeNotConfigured(RuntimeError):
    """A Stripe feature was used while the platform has no Stripe keys."""


class StripeFailure(RuntimeError):
    """Stripe refused a request or could not be reached.

    `str(error)` is a sentence for people; `code` is Stripe's error code, if any;
    `retryable` says whether trying again later may succeed (network, rate limit).
    """

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, retryable=False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retryable = retryable


class WebhookInvalid(ValueError):
    """A webhook delivery failed verification: bad or missing signature, stale, malformed."""


class ConnectStateInvalid(ValueError):
    """The `state` of a Connect OAuth return does not belong to this shop and session."""


# --- configuration --------------------------------------------------------------------


def _config(name: str) -> str:
    return str(current_app.config.get(name) or "")


def configured() -> bool:
    """Whether shopper payments through Stripe can work: API key and webhook secret set."""
    return bool(_config("STRIPE_SECRET_KEY") and webhook_secrets())


def connect_configured() -> bool:
    """Whether merchants can connect their Stripe account (Connect's client id set too)."""
    return configured() and bool(_config("STRIPE_CONNECT_CLIENT_ID"))


def publishable_key() -> str:
    return _config("STRIPE_PUBLISHABLE_KEY")


def webhook_secrets() -> list[str]:
    return [s.strip() for s in _config("STRIPE_WEBHOOK_SECRET").split(",") if s.strip()]


def _client() -> stripe.StripeClient:
    key = _config("STRIPE_SECRET_KEY")
    if not key:
        raise StripeNotConfigured("Stripe is not configured on this platform.")
    return _client_for(
        key,
        _config("STRIPE_CONNECT_CLIENT_ID"),
        _config("STRIPE_API_BASE") or "https://api.stripe.com",
        _config("STRIPE_CONNECT_BASE") or "https://connect.stripe.com",
    )


@lru_cache(maxsize=8)
def _client_for(key: str, client_id: str, api_base: str, connect_base: str) -> stripe.StripeClient:
    # One client per configuration: it keeps an HTTP session (connection reuse) and is
    # safe to share between threads.
    return stripe.StripeClient(
        key,
        client_id=client_id or None,
        base_addresses={"api": api_base, "connect": connect_base},
        max_network_retries=NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=REQUEST_TIMEOUT),
    )


def _failure(error: stripe.StripeError, doing: str) -> StripeFailure:
    """A StripeFailure with a message for people; the details go to the log."""
    log.warning("Stripe error while %s: %s (code=%s)", doing, error, error.code)
    status = error.http_status
    if isinstance(error, stripe.APIConnectionError):
        return StripeFailure(
            "Stripe could not be reached. Please try again in a moment.", retryable=True
        )
    if isinstance(error, stripe.RateLimitError):
        return StripeFailure(
            "Stripe is busy right now. Please try again in a moment.",
            code=error.code,
            status=status,
            retryable=True,
        )
    if isinstance(error, stripe.AuthenticationError):
        return StripeFailure(
            "The platform's Stripe keys were refused. Please contact support.",
            code=error.code,
            status=status,
        )
    if isinstance(error, stripe.PermissionError):
        return StripeFailure(
            "The platform no longer has access to this Stripe account. "
            "Connect it again in Settings → Payments.",
            code=error.code,
            status=status,
        )
    message = getattr(error, "user_message", None) or str(getattr(error, "_message", "") or "")
    return StripeFailure(
        message or "Stripe refused the request.",
        code=error.code,
        status=status,
        retryable=isinstance(error, stripe.APIError),
    )


def _options(account_id: str | None, idempotency_key: str | None = None) -> Any:
    options: dict[str, str] = {}
    if account_id:
        options["stripe_account"] = account_id
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    return options


def _plain(obj: Any) -> dict[str, Any]:
    return cast(dict[str, Any], obj.to_dict())


# --- Connect: linking a merchant's own account ---------------------------------------


@dataclass(frozen=True)
class ConnectState:
    tenant_id: int
    principal: str  # a digest of the staff session's user id
    nonce: str
    host: str | None = None  # the shop host the merchant started from (custom domains)


def _state_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(cast(str, current_app.secret_key), salt="stripe-connect-state")


def _digest(principal: str) -> str:
    return hashlib.sha256(principal.encode()).hexdigest()[:32]


def connect_authorize_url(
    *,
    tenant_id: int,
    principal: str,
    redirect_uri: str,
    email: str | None = None,
    return_host: str | None = None,
) -> tuple[str, str]:
    """Where to send a merchant to connect their Stripe account, and the nonce to keep.

    The OAuth `state` is signed and names the shop and the staff session (`principal`,
    the logged-in user's id) plus a fresh nonce; the caller keeps the nonce in that
    session and checks all three on return (`check_connect_state`), so a return can
    complete neither another shop's nor another session's connection. `return_host`
    (the shop host the merchant is on, whose cookie holds the session) says where the
    platform's return URL sends the merchant back to.

    Returns:
        (url, nonce).
    """
    nonce = secrets.token_urlsafe(16)
    data = {"t": tenant_id, "p": _digest(principal), "n": nonce}
    if return_host:
        data["h"] = return_host
    state = _state_serializer().dumps(data)
    params: dict[str, Any] = {
        "scope": "read_write",
        "state": state,
        "redirect_uri": redirect_uri,
    }
    if email:
        params["stripe_user"] = {"email": email}
    try:
        return _client().oauth.authorize_url(cast(Any, params)), nonce
    except stripe.AuthenticationError as error:  # no client id
        raise StripeNotConfigured(str(error)) from error


def read_connect_state(state: str, max_age: int = CONNECT_STATE_MAX_AGE) -> ConnectState:
    """The shop and session a `state` was issued for, if it is ours and recent."""
    try:
        data = _state_serializer().loads(state or "", max_age=max_age)
    except SignatureExpired as error:
        raise ConnectStateInvalid("This Stripe connection request has expired.") from error
    except BadSignature as error:
        raise ConnectStateInvalid("This Stripe connection request is not valid.") from error
    try:
        host = data.get("h")
        return ConnectState(
            int(data["t"]), str(data["p"]), str(data["n"]), str(host) if host else None
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ConnectStateInvalid("This Stripe connection request is not valid.") from error


def check_connect_state(state: str, *, tenant_id: int, principal: str, nonce: str | None) -> None:
    """Accept `state` only for this shop, this staff session and the nonce it holds.

    Raises:
        ConnectStateInvalid: with a message for people.
    """
    parsed = read_connect_state(state)
    if parsed.tenant_id != tenant_id:
        raise ConnectStateInvalid("This Stripe connection was started from another shop.")
    if not nonce or not secrets.compare_digest(parsed.nonce, nonce):
        raise ConnectStateInvalid("This Stripe connection was started in another session.")
    if not secrets.compare_digest(parsed.principal, _digest(principal)):
        raise ConnectStateInvalid("This Stripe connection was started by someone else.")


def exchange_connect_code(code: str) -> str:
    """Finish Connect's OAuth: trade the one-time `code` for the merchant's account id."""
    try:
        token = _client().oauth.token({"grant_type": "authorization_code", "code": code})
    except oauth_error.OAuthError as error:
        log.warning("Stripe Connect code refused: %s (%s)", error, error.code)
        raise StripeFailure(
            "Stripe did not accept this connection (it may have been used already or "
            "expired). Please connect again.",
            code=error.code,
            status=error.http_status,
        ) from error
    except stripe.StripeError as error:
        raise _failure(error, "exchanging a Connect code") from error
    account = getattr(token, "stripe_user_id", None)
    if not account:
        raise StripeFailure("Stripe did not say which account was connected. Please try again.")
    return str(account)


def deauthorize(account_id: str) -> None:
    """Revoke the platform's access to a connected account (on "Disconnect")."""
    try:
        _client().oauth.deauthorize({"stripe_user_id": account_id})
    except oauth_error.OAuthError as error:
        # Already revoked from the merchant's side: what we wanted anyway.
        log.info("Stripe deauthorize of %s: %s (%s)", account_id, error, error.code)
    except stripe.StripeError as error:
        raise _failure(error, "disconnecting an account") from error


# --- Checkout (shopper payments on the merchant's account) ----------------------------


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
        session = _client().v1.checkout.sessions.create(
            cast(Any, params), _options(account_id, idempotency_key)
        )
    except stripe.StripeError as error:
        raise _failure(error, "creating a checkout session") from error
    return CheckoutSession.of(_plain(session))


def retrieve_checkout_session(account_id: str, session_id: str) -> CheckoutSession:
    """A checkout session as Stripe has it now (for reconciliation, or a success page)."""
    try:
        session = _client().v1.checkout.sessions.retrieve(session_id, None, _options(account_id))
    except stripe.StripeError as error:
        raise _failure(error, "reading a checkout session") from error
    return CheckoutSession.of(_plain(session))


def expire_checkout_session(account_id: str, session_id: str) -> CheckoutSession:
    """End an open session so it can no longer be paid (Stripe then sends
    `checkout.session.expired`). A session already complete or expired is returned as
    it is: the caller decides from its `status`."""
    client = _client()
    try:
        session = client.v1.checkout.sessions.expire(session_id, None, _options(account_id))
    except stripe.InvalidRequestError as error:
        if error.http_status == 400:  # no longer open: report what it is instead
            return retrieve_checkout_session(account_id, session_id)
        raise _failure(error, "expiring a checkout session") from error
    except stripe.StripeError as error:
        raise _failure(error, "expiring a checkout session") from error
    return CheckoutSession.of(_plain(session))


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
        data = _plain(
            _client().v1.payment_intents.retrieve(payment_intent, None, _options(account_id))
        )
    except stripe.StripeError as error:
        raise _failure(error, "reading a payment") from error
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
        data = _plain(
            _client().v1.refunds.create(cast(Any, params), _options(account_id, idempotency_key))
        )
    except stripe.StripeError as error:
        raise _failure(error, "refunding a payment") from error
    return Refund(
        id=data["id"],
        amount=data.get("amount") or amount,
        currency=data.get("currency") or "",
        status=data.get("status") or "pending",
        payment_intent=data.get("payment_intent"),
    )


# --- Billing (merchants' subscriptions, on the platform's own account) -----------------
#
# These return Stripe's objects as plain dicts; `saas.billing.sync` reads them. None of
# them takes an account: subscriptions belong to the platform, not to a merchant.


def _call(doing: str, method: Any, *args: Any) -> dict[str, Any]:
    try:
        return _plain(method(*args))
    except stripe.StripeError as error:
        raise _failure(error, doing) from error


def create_customer(
    *, email: str | None, name: str, metadata: Mapping[str, str], idempotency_key: str
) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name[:250], "metadata": dict(metadata)}
    if email:
        params["email"] = email
    return _call(
        "creating a customer",
        _client().v1.customers.create,
        cast(Any, params),
        _options(None, idempotency_key),
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
    return _call(
        "creating a price",
        _client().v1.prices.create,
        cast(Any, params),
        _options(None, idempotency_key),
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
    data = _call(
        "opening a subscription checkout",
        _client().v1.checkout.sessions.create,
        cast(Any, params),
        _options(None, idempotency_key),
    )
    return CheckoutSession.of(data)


def retrieve_subscription(subscription_id: str) -> dict[str, Any]:
    """A subscription as Stripe has it now, its default payment method expanded."""
    return _call(
        "reading a subscription",
        _client().v1.subscriptions.retrieve,
        subscription_id,
        {"expand": ["default_payment_method"]},
    )


def update_subscription(
    subscription_id: str, params: Mapping[str, Any], idempotency_key: str
) -> dict[str, Any]:
    return _call(
        "changing a subscription",
        _client().v1.subscriptions.update,
        subscription_id,
        cast(Any, dict(params)),
        _options(None, idempotency_key),
    )


def cancel_subscription(subscription_id: str) -> dict[str, Any]:
    """End a subscription now (not at its period's end)."""
    return _call("cancelling a subscription", _client().v1.subscriptions.cancel, subscription_id)


def list_subscriptions(customer: str) -> list[dict[str, Any]]:
    data = _call(
        "listing subscriptions",
        _client().v1.subscriptions.list,
        {"customer": customer, "status": "all", "limit": 100},
    )
    return list(data.get("data") or [])


def retrieve_invoice(invoice_id: str) -> dict[str, Any]:
    return _call("reading an invoice", _client().v1.invoices.retrieve, invoice_id)


def list_invoices(customer: str, limit: int = 100) -> list[dict[str, Any]]:
    data = _call(
        "listing invoices",
        _client().v1.invoices.list,
        {"customer": customer, "limit": limit},
    )
    return list(data.get("data") or [])


def create_portal_session(customer: str, return_url: str) -> str:
    """The URL of Stripe's customer portal for `customer` (update the card, see invoices)."""
    data = _call(
        "opening the billing portal",
        _client().v1.billing_portal.sessions.create,
        {"customer": customer, "return_url": return_url},
    )
    return str(data["url"])


# --- webhooks -------------------------------------------------------------------------


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
    secrets_ = webhook_secrets()
    if not secrets_:
        raise WebhookInvalid("Stripe webhooks are not configured on this platform.")
    if not signature_header:
        raise WebhookInvalid("The Stripe-Signature header is missing.")
    problem = "The signature does not match."
    for secret in secrets_:
        try:
            stripe.Webhook.construct_event(payload, signature_header, secret, WEBHOOK_TOLERANCE)
        except stripe.SignatureVerificationError as error:
            problem = str(getattr(error, "_message", None) or error)
            continue
        except ValueError as error:  # verified, but not JSON
            raise WebhookInvalid("The body is not a JSON event.") from error
        break
    else:
        raise WebhookInvalid(problem)
    try:
        data = json.loads(payload)
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
    except (KeyError, TypeError, ValueError) as error:
        raise WebhookInvalid("The body is not a Stripe event.") from error
    if data.get("object") != "event" or not event.id.startswith("evt_"):
        raise WebhookInvalid("The body is not a Stripe event.")
    return event
