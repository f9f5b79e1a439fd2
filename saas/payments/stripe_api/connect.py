"""Stripe Connect (OAuth, Standard accounts): linking a merchant's own Stripe account.

The OAuth `state` is signed and names the shop and the staff session, so a return can
complete neither another shop's nor another session's connection.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any, cast

import stripe
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from stripe import oauth_error

# Public functions are called through the package so that a test's monkeypatch of
# `stripe_api.<name>` reaches these callers too (see the package's docstring).
from saas.payments import stripe_api
from saas.payments.stripe_api.client import (
    StripeFailure,
    StripeNotConfigured,
    failure,
    stripe_client,
)

log = logging.getLogger(__name__)

CONNECT_STATE_MAX_AGE = 3600  # seconds a "Connect Stripe" round trip may take


class ConnectStateInvalid(ValueError):
    """The `state` of a Connect OAuth return does not belong to this shop and session."""


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
        return stripe_client().oauth.authorize_url(cast(Any, params)), nonce
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
    parsed = stripe_api.read_connect_state(state)
    if parsed.tenant_id != tenant_id:
        raise ConnectStateInvalid("This Stripe connection was started from another shop.")
    if not nonce or not secrets.compare_digest(parsed.nonce, nonce):
        raise ConnectStateInvalid("This Stripe connection was started in another session.")
    if not secrets.compare_digest(parsed.principal, _digest(principal)):
        raise ConnectStateInvalid("This Stripe connection was started by someone else.")


def exchange_connect_code(code: str) -> str:
    """Finish Connect's OAuth: trade the one-time `code` for the merchant's account id."""
    try:
        token = stripe_client().oauth.token({"grant_type": "authorization_code", "code": code})
    except oauth_error.OAuthError as error:
        log.warning("Stripe Connect code refused: %s (%s)", error, error.code)
        raise StripeFailure(
            "Stripe did not accept this connection (it may have been used already or "
            "expired). Please connect again.",
            code=error.code,
            status=error.http_status,
        ) from error
    except stripe.StripeError as error:
        raise failure(error, "exchanging a Connect code") from error
    account = getattr(token, "stripe_user_id", None)
    if not account:
        raise StripeFailure("Stripe did not say which account was connected. Please try again.")
    return str(account)


def deauthorize(account_id: str) -> None:
    """Revoke the platform's access to a connected account (on "Disconnect")."""
    try:
        stripe_client().oauth.deauthorize({"stripe_user_id": account_id})
    except oauth_error.OAuthError as error:
        # Already revoked from the merchant's side: what we wanted anyway.
        log.info("Stripe deauthorize of %s: %s (%s)", account_id, error, error.code)
    except stripe.StripeError as error:
        raise failure(error, "disconnecting an account") from error
