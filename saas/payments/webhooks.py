"""Stripe's ways into the platform: the webhook endpoint and the Connect OAuth return.

Both live on the platform's own host (the apex), because Stripe knows one URL of each
for the whole platform, not one per shop.

Webhooks (`POST /webhooks/stripe`):

1. The signature is verified with the SDK (`Stripe-Signature`, 300 s tolerance); any
   failure answers 400 with a problem body and changes nothing.
2. An event on a connected account (`event.account`) belongs to the shop that connected
   that account (`stripe_accounts`); its handlers run inside that shop
   (`tenant_context`). An account no shop owns is acknowledged, recorded as ignored and
   never run anywhere. An event on the platform's own account runs with no shop.
3. The event's id is inserted into `stripe_events` (`ON CONFLICT DO NOTHING`) in the
   same transaction as the handlers' effects: a second delivery, even one arriving
   while the first is still running, waits for that transaction and then finds the
   row, so an event is acted on exactly once. A handler that fails rolls the row back
   with its effects; the 500 makes Stripe deliver again later.

Handlers are registered by `create_app`, from a table each module keeps of its own:

    def mark_paid(event: WebhookEvent) -> None:
        ...  # current_tenant is the shop; flush, never commit

    HANDLERS = (("checkout.session.completed", mark_paid),)

    webhooks.register(stripe_orders.HANDLERS, scope="shop")  # in create_app

Handlers must not commit (the dispatcher commits once, with the event's row), may be
called for events in any order (compare `event.created`, or refetch the object), and
may raise `RetryLater` when they cannot act yet. Audit what they change with
`actor=STRIPE_ACTOR`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

from flask import Response, current_app, redirect, request
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql import func
from werkzeug.exceptions import BadRequest

from saas.db import db
from saas.extensions import csrf
from saas.models import StripeAccount, StripeEvent, StripeEventStatus, Tenant, TenantStatus
from saas.payments import stripe_api
from saas.payments.stripe_api import WebhookEvent
from saas.tenancy import RECORD_COLUMNS, TenantRecord, tenant_context
from saas.tenancy.sites import SiteBlueprint, absolute_url, shop_host

log = logging.getLogger(__name__)

bp = SiteBlueprint("stripe", __name__, site="platform")

Scope = Literal["shop", "platform"]
Handler = Callable[[WebhookEvent], None]
H = TypeVar("H", bound=Handler)

_handlers: dict[tuple[Scope, str], list[Handler]] = {}

# The audit actor for what handlers change: `audit.record(..., actor=STRIPE_ACTOR)`
# (inside a webhook there is no logged-in user to blame).
STRIPE_ACTOR = ("system", None, "stripe")


class RetryLater(Exception):
    """Raised by a handler that cannot act yet (what the event is about is not committed
    yet, say): nothing is recorded and Stripe delivers the event again later."""


def register(handlers: Iterable[tuple[str, Handler]], *, scope: Scope) -> None:
    """Register handlers, each for its event type (e.g. "checkout.session.completed").

    Args:
        scope: "shop" for events on merchants' connected accounts (shopper payments),
            run inside the shop; "platform" for events on the platform's own account
            (merchants' subscriptions), run with no shop selected.
    """
    for event_type, handler in handlers:
        registered = _handlers.setdefault((scope, event_type), [])
        if handler not in registered:
            registered.append(handler)


def on(event_type: str, *, scope: Scope = "shop") -> Callable[[H], H]:
    """`register` as a decorator, for a handler of one event type (tests)."""

    def decorate(handler: H) -> H:
        register([(event_type, handler)], scope=scope)
        return handler

    return decorate


def off(event_type: str, handler: Handler, *, scope: Scope = "shop") -> None:
    """Unregister a handler (tests)."""
    handlers = _handlers.get((scope, event_type), [])
    if handler in handlers:
        handlers.remove(handler)


def handlers_for(event_type: str, scope: Scope) -> list[Handler]:
    return list(_handlers.get((scope, event_type), ()))


# --- the endpoint ---------------------------------------------------------------------


def _problem(status: int, title: str, detail: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def _ok(outcome: str, event: WebhookEvent) -> Response:
    body = {"received": True, "id": event.id, "outcome": outcome}
    return Response(json.dumps(body), status=200, mimetype="application/json")


@bp.post("/webhooks/stripe")
@csrf.exempt  # Stripe signs its requests instead; a browser never posts here
def receive() -> Response:
    payload = request.get_data(cache=False)
    try:
        event = stripe_api.construct_event(payload, request.headers.get("Stripe-Signature"))
    except stripe_api.WebhookInvalid as invalid:
        log.warning("Stripe webhook refused: %s", invalid)
        return _problem(400, "Invalid Stripe webhook", str(invalid))
    try:
        outcome = process(event)
    except RetryLater as later:
        log.info("Stripe event %s (%s) deferred: %s", event.id, event.type, later)
        response = _problem(503, "Not ready", str(later) or "Deliver this event again later.")
        response.headers["Retry-After"] = "60"
        return response
    except Exception:
        log.exception("Stripe event %s (%s) failed; Stripe will retry", event.id, event.type)
        return _problem(500, "Event not processed", "Deliver this event again later.")
    return _ok(outcome, event)


def _shop_of(account: str) -> TenantRecord | None:
    # A short connection of its own: the event's transaction opens inside the shop.
    query = (
        select(*RECORD_COLUMNS)
        .join(StripeAccount, StripeAccount.tenant_id == Tenant.id)
        .where(StripeAccount.account_id == account)
    )
    with db.engine.connect() as conn:
        row = conn.execute(query).first()
    return TenantRecord.from_row(row) if row else None


def _claim(event: WebhookEvent, tenant_id: int | None, status: StripeEventStatus) -> bool:
    """Insert the event's row in the current transaction; False if it is there already.

    A concurrent delivery of the same event blocks here on the primary key until the
    first one's transaction ends: then it finds the row (or, after a rollback, claims
    it itself).
    """
    claimed = db.session.execute(
        insert(StripeEvent)
        .values(
            id=event.id,
            type=event.type,
            account=event.account,
            tenant_id=tenant_id,
            status=status,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(StripeEvent.id)
    ).scalar()
    return claimed is not None


def process(event: WebhookEvent) -> str:
    """Act on a verified event once. Returns what happened: "processed", "unhandled",
    "ignored" (an account no shop owns) or "duplicate" (seen before)."""
    shop: TenantRecord | None = None
    scope: Scope = "platform"
    if event.account:
        shop = _shop_of(event.account)
        if shop is None or shop.status == TenantStatus.DELETED:
            with tenant_context(None):  # claimed and committed as one unit
                fresh = _claim(event, None, StripeEventStatus.IGNORED)
            if fresh:
                log.warning(
                    "Stripe event %s (%s) is for account %s, which no shop has connected: ignored",
                    event.id,
                    event.type,
                    event.account,
                )
            return StripeEventStatus.IGNORED.value if fresh else "duplicate"
        scope = "shop"
    handlers = handlers_for(event.type, scope)
    status = StripeEventStatus.PROCESSED if handlers else StripeEventStatus.UNHANDLED
    # One unit of work in the event's shop: the claim (dedupe) and its effects commit
    # together or not at all.
    with tenant_context(shop):
        if not _claim(event, shop.id if shop else None, status):
            log.info("Stripe event %s (%s) delivered again: skipped", event.id, event.type)
            return "duplicate"
        for handler in handlers:
            handler(event)
        db.session.execute(
            update(StripeEvent)
            .where(StripeEvent.id == event.id)
            .values(processed_at=func.clock_timestamp())
        )
    log.info("Stripe event %s (%s): %s", event.id, event.type, status.value)
    return status.value


# --- Connect OAuth return -------------------------------------------------------------

# What Stripe may put on the return URL; nothing else is passed on to the shop.
_RETURN_PARAMS = ("code", "state", "scope", "error", "error_description")


@bp.get("/stripe/connect/return")
def connect_return() -> Any:
    """Pass Stripe's OAuth answer on to the shop that asked for it.

    Stripe only redirects to URLs registered for the platform, so every shop's "Connect
    Stripe" returns here first; the signed `state` names the shop, whose back office
    then checks it against the staff session and finishes the connection.
    """
    try:
        state = stripe_api.read_connect_state(request.args.get("state", ""))
    except stripe_api.ConnectStateInvalid as invalid:
        raise BadRequest(f"{invalid} Start again from your shop's Settings → Payments.") from None
    tenant = db.session.get(Tenant, state.tenant_id)
    if tenant is None or tenant.status == TenantStatus.DELETED:
        raise BadRequest("The shop that started this Stripe connection no longer exists.")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    query = urlencode([(k, request.args[k]) for k in _RETURN_PARAMS if k in request.args])
    host = _shop_host_of(tenant, state.host)
    target = absolute_url(app, host, f"/admin/settings/payments/stripe/return?{query}")
    return redirect(target, code=303)


def _shop_host_of(tenant: Tenant, wanted: str | None) -> str:
    """`wanted` if it is one of the shop's own hosts (its subdomain or a custom domain:
    the one whose cookie holds the merchant's session), else the shop's subdomain."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    default = shop_host(app, tenant.slug)
    if not wanted:
        return default
    name = wanted.split(":", 1)[0].lower()
    own = {f"{tenant.slug}.{app.config['SAAS_DOMAIN']}", *(d.host for d in tenant.domains)}
    return wanted if name in own else default
