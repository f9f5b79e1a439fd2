"""The SDK's client and what every call shares: settings, errors, request options.

Settings come from the app config at call time (`saas.config`), so tests can point the
SDK at the local fake Stripe server (`tests/fakes/stripe_server.py`).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, cast

import stripe
from flask import current_app

# Public functions are called through the package so that a test's monkeypatch of
# `stripe_api.<name>` reaches these callers too (see the package's docstring).
from saas.payments import stripe_api

log = logging.getLogger(__name__)

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


def _config(name: str) -> str:
    return str(current_app.config.get(name) or "")


def configured() -> bool:
    """Whether shopper payments through Stripe can work: API key and webhook secret set."""
    return bool(_config("STRIPE_SECRET_KEY") and stripe_api.webhook_secrets())


def connect_configured() -> bool:
    """Whether merchants can connect their Stripe account (Connect's client id set too)."""
    return stripe_api.configured() and bool(_config("STRIPE_CONNECT_CLIENT_ID"))


def publishable_key() -> str:
    return _config("STRIPE_PUBLISHABLE_KEY")


def webhook_secrets() -> list[str]:
    return [s.strip() for s in _config("STRIPE_WEBHOOK_SECRET").split(",") if s.strip()]


def stripe_client() -> stripe.StripeClient:
    """The SDK client for the current settings; StripeNotConfigured without an API key."""
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


def failure(error: stripe.StripeError, doing: str) -> StripeFailure:
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


def request_options(account_id: str | None, idempotency_key: str | None = None) -> Any:
    """The SDK's per-request options: the connected account and the idempotency key."""
    options: dict[str, str] = {}
    if account_id:
        options["stripe_account"] = account_id
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    return options


def plain(obj: Any) -> dict[str, Any]:
    """An SDK object as a plain dict, so no SDK type leaves the package."""
    return cast(dict[str, Any], obj.to_dict())
