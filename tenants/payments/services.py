"""How a shop gets paid: offline methods (cash on delivery, bank transfer) and the
merchant's own Stripe account, connected through Stripe Connect.

The connected account is written twice in one transaction: in the shop's settings
(`ShopSettings.stripe_account_id`, what checkout uses) and in the platform's
`stripe_accounts` (how a webhook, which names only the account, finds its shop). An
account serves one shop. Every change here is audited: it decides where money goes.

`ShopSettings.payments_ready` (the dashboard's checklist) is true while at least one
method is offered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from saas import audit
from saas.db import db
from saas.models import StripeAccount
from saas.payments import stripe_api
from saas.payments.stripe_api import WebhookEvent
from saas.payments.webhooks import STRIPE_ACTOR
from saas.tenancy import current_tenant
from tenants.orders.models import PaymentMethod
from tenants.settings.models import ShopSettings
from tenants.settings.services import get_settings

INSTRUCTIONS_MAX = 2000


class PaymentSettingsInvalid(ValueError):
    """The form has mistakes; `errors` maps field names to messages for people."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class StripeConnectFailed(RuntimeError):
    """Connecting a Stripe account did not work; the message says why, for people."""


def stripe_available() -> bool:
    """Whether the platform can take card payments for shops at all (keys configured)."""
    return stripe_api.connect_configured()


def offered_methods(settings: ShopSettings | None = None) -> list[PaymentMethod]:
    """The payment methods shoppers can choose at checkout, card first."""
    settings = settings or get_settings()
    methods = []
    if settings.stripe_account_id and stripe_api.configured():
        methods.append(PaymentMethod.STRIPE)
    if settings.cash_on_delivery:
        methods.append(PaymentMethod.CASH_ON_DELIVERY)
    if settings.bank_transfer:
        methods.append(PaymentMethod.BANK_TRANSFER)
    return methods


def _refresh_ready(settings: ShopSettings) -> None:
    settings.payments_ready = bool(offered_methods(settings))


# --- offline methods ------------------------------------------------------------------


def form_values(settings: ShopSettings) -> dict[str, Any]:
    return {
        "cash_on_delivery": settings.cash_on_delivery,
        "bank_transfer": settings.bank_transfer,
        "bank_transfer_instructions": settings.bank_transfer_instructions,
    }


def submitted_values(form: Mapping[str, str]) -> dict[str, Any]:
    """What the merchant sent, to show again next to the errors."""
    return {
        "cash_on_delivery": form.get("cash_on_delivery") == "1",
        "bank_transfer": form.get("bank_transfer") == "1",
        "bank_transfer_instructions": form.get("bank_transfer_instructions", ""),
    }


def validate(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(cleaned values, errors by field) for the offline payment methods form."""
    cleaned = submitted_values(form)
    # Browsers send CRLF; one line ending keeps the stored text what was typed.
    text = cleaned["bank_transfer_instructions"].replace("\r\n", "\n").strip()
    cleaned["bank_transfer_instructions"] = text
    errors: dict[str, str] = {}
    if len(text) > INSTRUCTIONS_MAX:
        errors["bank_transfer_instructions"] = (
            f"Bank transfer instructions can have at most {INSTRUCTIONS_MAX:,} characters "
            f"(these have {len(text):,})."
        )
    elif any((ord(c) < 32 and c not in "\n\t") or ord(c) == 127 for c in text):
        errors["bank_transfer_instructions"] = (
            "Bank transfer instructions cannot contain control characters."
        )
    elif cleaned["bank_transfer"] and not text:
        errors["bank_transfer_instructions"] = (
            "Enter the instructions shoppers need to pay by bank transfer: the account "
            "holder, the IBAN or account number, and the reference to use."
        )
    return cleaned, errors


def update_offline_methods(form: Mapping[str, str]) -> list[str]:
    """Validate and stage the offline methods (the caller commits). Returns what changed.

    Raises:
        PaymentSettingsInvalid: nothing was changed.
    """
    cleaned, errors = validate(form)
    if errors:
        raise PaymentSettingsInvalid(errors)
    settings = get_settings()
    changed = [name for name, value in cleaned.items() if getattr(settings, name) != value]
    for name in changed:
        setattr(settings, name, cleaned[name])
    _refresh_ready(settings)
    if changed:
        audit.record(
            "payments.updated",
            fields=changed,
            cash_on_delivery=settings.cash_on_delivery,
            bank_transfer=settings.bank_transfer,
        )
    db.session.flush()
    return changed


# --- Stripe Connect -------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectStart:
    url: str  # Stripe's authorization page
    nonce: str  # keep in the staff member's session; `finish_connect` needs it


def begin_connect(*, principal: str, redirect_uri: str, return_host: str) -> ConnectStart:
    """Where to send the merchant to connect their Stripe account.

    Args:
        principal: the logged-in staff session's user id; only it can finish.
        redirect_uri: the platform's Connect return URL (registered with Stripe).
        return_host: the shop host the merchant is on (their session's cookie is there).
    """
    settings = get_settings()
    url, nonce = stripe_api.connect_authorize_url(
        tenant_id=current_tenant.id,
        principal=principal,
        redirect_uri=redirect_uri,
        email=settings.contact_email or None,
        return_host=return_host,
    )
    return ConnectStart(url, nonce)


def finish_connect(*, code: str, state: str, principal: str, nonce: str | None) -> str:
    """Check Stripe's answer belongs to this shop and session, then link the account.

    Stages the change (the caller commits). Returns the account id.

    Raises:
        stripe_api.ConnectStateInvalid: the state is forged, expired, or another shop's
            or session's; nothing was asked of Stripe.
        StripeConnectFailed: Stripe refused the code, or the account serves another shop.
    """
    stripe_api.check_connect_state(
        state, tenant_id=current_tenant.id, principal=principal, nonce=nonce
    )
    if not code:
        raise StripeConnectFailed("Stripe sent no authorization code. Please connect again.")
    try:
        account_id = stripe_api.exchange_connect_code(code)
    except stripe_api.StripeFailure as failure:
        raise StripeConnectFailed(str(failure)) from failure
    link_stripe_account(account_id)
    return account_id


def link_stripe_account(account_id: str) -> None:
    """Make `account_id` the current shop's Stripe account (staged; the caller commits).

    Raises:
        StripeConnectFailed: the account already serves another shop.
    """
    taken = db.session.get(StripeAccount, account_id)
    if taken is not None and taken.tenant_id != current_tenant.id:
        raise StripeConnectFailed(
            "This Stripe account is already connected to another shop on this platform. "
            "Use a separate Stripe account for each shop."
        )
    settings = get_settings()
    previous = settings.stripe_account_id
    if taken is None:
        db.session.execute(
            delete(StripeAccount).where(StripeAccount.tenant_id == current_tenant.id)
        )
        try:
            with db.session.begin_nested():  # another shop may be linking it at this moment
                db.session.add(StripeAccount(account_id=account_id, tenant_id=current_tenant.id))
        except IntegrityError as error:
            raise StripeConnectFailed(
                "This Stripe account is already connected to another shop on this platform. "
                "Use a separate Stripe account for each shop."
            ) from error
    settings.stripe_account_id = account_id
    _refresh_ready(settings)
    audit.record("payments.stripe_connected", account_id=account_id, replaced=previous)
    db.session.flush()


def disconnect_stripe() -> str | None:
    """Stop taking card payments through the connected account (staged; caller commits).

    The link is removed first, then the platform's access is revoked at Stripe: Stripe's
    `account.application.deauthorized` notice, which may arrive before this transaction
    commits, then waits for it and finds nothing left to do. If Stripe cannot be reached
    the shop is disconnected anyway (the merchant can revoke the access from their Stripe
    dashboard); the failure is returned as a message for people.
    """
    settings = get_settings()
    account_id = settings.stripe_account_id
    if account_id is None:
        return None
    _unlink(settings, account_id)
    db.session.flush()
    problem = None
    if stripe_api.configured():
        try:
            stripe_api.deauthorize(account_id)
        except (stripe_api.StripeFailure, stripe_api.StripeNotConfigured) as failure:
            problem = str(failure)
    audit.record("payments.stripe_disconnected", account_id=account_id, revoked=problem is None)
    db.session.flush()
    return problem


def _unlink(settings: ShopSettings, account_id: str) -> None:
    db.session.execute(
        delete(StripeAccount).where(
            StripeAccount.account_id == account_id,
            StripeAccount.tenant_id == current_tenant.id,
        )
    )
    if settings.stripe_account_id == account_id:
        settings.stripe_account_id = None
    _refresh_ready(settings)


def connected_since(account_id: str | None) -> Any:
    """When the shop's account was connected (None if not connected)."""
    if not account_id:
        return None
    return db.session.scalar(
        select(StripeAccount.connected_at).where(
            StripeAccount.account_id == account_id,
            StripeAccount.tenant_id == current_tenant.id,
        )
    )


def _deauthorized(event: WebhookEvent) -> None:
    """The merchant revoked the platform's access from Stripe's side: stop offering cards."""
    # Locked, so a "Disconnect" committing at this moment is waited for, then seen.
    link = db.session.scalar(
        select(StripeAccount)
        .where(
            StripeAccount.account_id == event.account,
            StripeAccount.tenant_id == current_tenant.id,
        )
        .with_for_update()
    )
    if link is None or event.account is None:
        return
    _unlink(get_settings(), event.account)
    audit.record(
        "payments.stripe_disconnected",
        actor=STRIPE_ACTOR,
        account_id=event.account,
        by="stripe",
    )
    db.session.flush()


# Events on the shop's connected Stripe account, registered by `create_app`.
HANDLERS = (("account.application.deauthorized", _deauthorized),)
