"""The platform's Stripe webhook: verified, deduplicated, routed to the right shop.

Events are signed and delivered by the fake Stripe (`tests/fakes/stripe_server.py`),
through the app's test client or, for races, over HTTP to the live server.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from saas import audit
from saas.db import db
from saas.models import AuditEvent, StripeEvent
from saas.payments.webhooks import RetryLater, off, on
from saas.tenancy import get_current_tenant, tenant_context
from tenants.settings.services import get_settings
from tests.fakes.stripe_server import Delivery, FakeStripe, app_target

HANDLED = "test.stripe_handled"


class Recorder:
    """Registers test handlers and remembers every call (event id, type, shop id)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int | None]] = []
        self.registered: list[tuple[str, Any, str]] = []
        self.lock = threading.Lock()
        self.delay = 0.0
        self.fail_times = 0
        self.not_ready = False

    def handle(self, event_type: str, scope: str = "shop") -> None:
        def handler(event: Any) -> None:
            if self.not_ready:
                raise RetryLater("the order is not committed yet")
            with self.lock:
                if self.fail_times:
                    self.fail_times -= 1
                    raise RuntimeError("handler exploded")
            tenant = get_current_tenant()
            # A write in the shop's own schema and one in the platform's, in the event's
            # transaction.
            if tenant is not None:
                get_settings().pickup_instructions = f"seen {event.id}"
            audit.record(HANDLED, actor=("system", None, "test"), event_id=event.id)
            time.sleep(self.delay)  # widens the window for concurrent duplicates
            with self.lock:
                self.calls.append((event.id, event.type, tenant.id if tenant else None))

        on(event_type, scope=scope)(handler)  # type: ignore[arg-type]
        self.registered.append((event_type, handler, scope))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    for event_type, handler, scope in rec.registered:
        off(event_type, handler, scope=scope)  # type: ignore[arg-type]


def new_type() -> str:
    return f"test.event_{uuid.uuid4().hex[:8]}"


def stored_event(app: Any, event_id: str) -> StripeEvent | None:
    with app.app_context():
        row = db.session.get(StripeEvent, event_id)
        if row is not None:
            db.session.expunge(row)
        return row


def handled_in(app: Any, event_id: str) -> list[int | None]:
    """The shops whose transaction recorded the handler's audit event for `event_id`."""
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == HANDLED))
        return [r.tenant_id for r in rows if r.detail.get("event_id") == event_id]


def pickup_note(app: Any, tenant: Any) -> str:
    with app.app_context(), tenant_context(tenant):
        return get_settings().pickup_instructions


@pytest.fixture
def shop_with_stripe(make_tenant: Callable[..., Any], connect_stripe: Callable[..., str]):
    def make() -> tuple[Any, str]:
        tenant = make_tenant()
        return tenant, connect_stripe(tenant)

    return make


# --- verification -----------------------------------------------------------------------


def test_a_signed_event_runs_its_handler_in_the_accounts_shop(
    stripe_app, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe
):
    shop, account = shop_with_stripe()
    kind = new_type()
    recorder.handle(kind)
    event = fake_stripe.make_event(
        kind, {"id": "cs_test_1", "object": "checkout.session"}, account=account
    )

    delivery = fake_stripe.deliver(event)

    assert delivery.status == 200
    assert delivery.json() == {"received": True, "id": event["id"], "outcome": "processed"}
    assert recorder.calls == [(event["id"], kind, shop.id)]
    row = stored_event(stripe_app, event["id"])
    assert row is not None
    assert (row.type, row.account, row.tenant_id, row.status) == (
        kind,
        account,
        shop.id,
        "processed",
    )
    assert row.processed_at is not None and row.processed_at >= row.received_at
    assert handled_in(stripe_app, event["id"]) == [shop.id]
    assert pickup_note(stripe_app, shop) == f"seen {event['id']}"


@pytest.mark.parametrize(
    "how, detail",
    [
        ("wrong secret", "No signatures found matching the expected signature"),
        ("stale", "Timestamp outside the tolerance zone"),
        ("no header", "The Stripe-Signature header is missing."),
        ("garbage header", "Unable to extract timestamp and signatures from header"),
        ("tampered body", "No signatures found matching the expected signature"),
        ("v0 scheme only", "No signatures found with expected scheme v1"),
    ],
)
def test_forged_or_stale_deliveries_are_refused_and_change_nothing(
    stripe_app, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe, how, detail
):
    shop, account = shop_with_stripe()
    kind = new_type()
    recorder.handle(kind)
    event = fake_stripe.make_event(kind, {"id": "cs_test_x"}, account=account)
    now = int(time.time())
    if how == "wrong secret":
        delivery = fake_stripe.deliver(event, secret="whsec_someone_else")
    elif how == "stale":  # just past Stripe's 300 s tolerance
        delivery = fake_stripe.deliver(event, timestamp=now - 301)
    elif how == "no header":
        delivery = fake_stripe.deliver(event, signature="")
    elif how == "garbage header":
        delivery = fake_stripe.deliver(event, signature="not a signature")
    elif how == "v0 scheme only":
        good = fake_stripe.signature_header(json.dumps(event, indent=2).encode())
        delivery = fake_stripe.deliver(event, signature=good.replace("v1=", "v0="))
    else:  # signed, then the amount changed on the way
        payload = json.dumps(event, indent=2).encode()
        header = fake_stripe.signature_header(payload)
        forged = payload.replace(b'"cs_test_x"', b'"cs_test_y"')
        status, body = app_target(stripe_app)(
            forged, {"Stripe-Signature": header, "Content-Type": "application/json"}
        )
        delivery = Delivery(event["id"], kind, status, body)

    assert delivery.status == 400
    problem = json.loads(delivery.body)
    assert problem["status"] == 400 and problem["title"] == "Invalid Stripe webhook"
    assert detail in problem["detail"]
    assert recorder.calls == []
    assert stored_event(stripe_app, event["id"]) is None
    assert handled_in(stripe_app, event["id"]) == []
    assert pickup_note(stripe_app, shop) == ""


def test_within_the_tolerance_an_older_signature_is_accepted(
    stripe_app, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe
):
    shop, account = shop_with_stripe()
    kind = new_type()
    recorder.handle(kind)
    event = fake_stripe.make_event(kind, {"id": "cs_test_z"}, account=account)
    assert fake_stripe.deliver(event, timestamp=int(time.time()) - 250).status == 200
    assert recorder.calls == [(event["id"], kind, shop.id)]


def test_without_a_webhook_secret_nothing_is_accepted(app, fake_stripe: FakeStripe, recorder):
    kind = new_type()
    recorder.handle(kind, scope="platform")
    event = fake_stripe.make_event(kind, {"id": "in_1"})
    delivery = fake_stripe.deliver(event, target=app_target(app))  # app not configured
    assert delivery.status == 400
    assert "not configured" in delivery.json()["detail"]
    assert recorder.calls == [] and stored_event(app, event["id"]) is None


def test_the_webhook_needs_no_csrf_token_on_a_csrf_protected_app(
    stripe_live, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe
):
    shop, account = shop_with_stripe()
    kind = new_type()
    recorder.handle(kind)
    delivery = fake_stripe.send_event(kind, {"id": "cs_test_live"}, account=account)
    assert delivery.status == 200, delivery.body
    assert [c[2] for c in recorder.calls] == [shop.id]


# --- exactly once -----------------------------------------------------------------------


def test_five_concurrent_deliveries_of_one_event_run_the_handler_once(
    stripe_live, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe
):
    shop, account = shop_with_stripe()
    kind = new_type()
    recorder.handle(kind)
    recorder.delay = 0.3  # the first delivery is still inside its transaction when the rest arrive
    event = fake_stripe.make_event(kind, {"id": "cs_test_race"}, account=account)

    deliveries = fake_stripe.deliver_concurrently(event, times=5)

    assert [d.status for d in deliveries] == [200] * 5
    outcomes = sorted(d.json()["outcome"] for d in deliveries)
    assert outcomes == ["duplicate"] * 4 + ["processed"]
    assert recorder.calls == [(event["id"], kind, shop.id)]
    assert handled_in(stripe_live.server.app, event["id"]) == [shop.id]

    again = fake_stripe.deliver(event)  # and Stripe's later retries too
    assert again.status == 200 and again.json()["outcome"] == "duplicate"
    assert len(recorder.calls) == 1


def test_a_failing_handler_records_nothing_so_the_retry_processes_it(
    stripe_app, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe
):
    shop, account = shop_with_stripe()
    kind = new_type()
    recorder.handle(kind)
    recorder.fail_times = 1
    event = fake_stripe.make_event(kind, {"id": "cs_test_fail"}, account=account)

    failed = fake_stripe.deliver(event)
    assert failed.status == 500 and failed.json()["title"] == "Event not processed"
    assert stored_event(stripe_app, event["id"]) is None
    assert pickup_note(stripe_app, shop) == ""

    retried = fake_stripe.deliver(event)
    assert retried.status == 200 and retried.json()["outcome"] == "processed"
    assert recorder.calls == [(event["id"], kind, shop.id)]
    assert handled_in(stripe_app, event["id"]) == [shop.id]


def test_a_handler_that_is_not_ready_asks_stripe_to_come_back(
    stripe_app, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe
):
    _, account = shop_with_stripe()
    kind = new_type()
    recorder.handle(kind)
    recorder.not_ready = True
    event = fake_stripe.make_event(kind, {"id": "cs_test_wait"}, account=account)
    delivery = fake_stripe.deliver(event)
    assert delivery.status == 503 and "not committed yet" in delivery.json()["detail"]
    assert stored_event(stripe_app, event["id"]) is None
    recorder.not_ready = False
    assert fake_stripe.deliver(event).json()["outcome"] == "processed"


def test_events_delivered_out_of_order_are_each_processed_once(
    stripe_app, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe
):
    shop, account = shop_with_stripe()
    first_kind, second_kind = new_type(), new_type()
    recorder.handle(first_kind)
    recorder.handle(second_kind)
    now = int(time.time())
    first = fake_stripe.make_event(
        first_kind, {"id": "cs_test_o"}, account=account, created=now - 5
    )
    second = fake_stripe.make_event(second_kind, {"id": "cs_test_o"}, account=account, created=now)

    deliveries = fake_stripe.release_webhooks([first, second, first, second], reverse=True)

    assert [d.json()["outcome"] for d in deliveries] == [
        "processed",
        "processed",
        "duplicate",
        "duplicate",
    ]
    assert recorder.calls == [
        (second["id"], second_kind, shop.id),
        (first["id"], first_kind, shop.id),
    ]


# --- routing ----------------------------------------------------------------------------


def test_an_event_for_an_unknown_account_is_acknowledged_and_runs_nowhere(
    stripe_app, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe, caplog
):
    shop, _ = shop_with_stripe()
    kind = new_type()
    recorder.handle(kind)
    recorder.handle(kind, scope="platform")
    stranger = fake_stripe.connect_account()  # a real account, but no shop's
    event = fake_stripe.make_event(kind, {"id": "cs_test_u"}, account=stranger)

    delivery = fake_stripe.deliver(event)

    assert delivery.status == 200 and delivery.json()["outcome"] == "ignored"
    assert recorder.calls == []
    row = stored_event(stripe_app, event["id"])
    assert row is not None
    assert (row.status, row.tenant_id, row.account) == ("ignored", None, stranger)
    assert handled_in(stripe_app, event["id"]) == []
    assert pickup_note(stripe_app, shop) == ""
    assert any(stranger in r.getMessage() and "ignored" in r.getMessage() for r in caplog.records)
    assert fake_stripe.deliver(event).json()["outcome"] == "duplicate"


def test_an_event_for_shop_a_never_runs_in_shop_b(
    stripe_app, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe
):
    shop_a, account_a = shop_with_stripe()
    shop_b, account_b = shop_with_stripe()
    kind = new_type()
    recorder.handle(kind)
    event_a = fake_stripe.make_event(kind, {"id": "cs_test_a"}, account=account_a)
    event_b = fake_stripe.make_event(kind, {"id": "cs_test_b"}, account=account_b)

    assert fake_stripe.deliver(event_a).status == 200
    assert pickup_note(stripe_app, shop_a) == f"seen {event_a['id']}"
    assert pickup_note(stripe_app, shop_b) == ""
    assert handled_in(stripe_app, event_a["id"]) == [shop_a.id]

    assert fake_stripe.deliver(event_b).status == 200
    assert pickup_note(stripe_app, shop_a) == f"seen {event_a['id']}"
    assert pickup_note(stripe_app, shop_b) == f"seen {event_b['id']}"
    assert recorder.calls == [
        (event_a["id"], kind, shop_a.id),
        (event_b["id"], kind, shop_b.id),
    ]


def test_platform_events_run_with_no_shop_and_only_platform_handlers(
    stripe_app, fake_stripe: FakeStripe, recorder: Recorder, shop_with_stripe
):
    shop_with_stripe()
    kind = new_type()
    recorder.handle(kind, scope="platform")
    shop_calls: list[str] = []

    def shop_handler(event: Any) -> None:
        shop_calls.append(event.id)

    on(kind)(shop_handler)
    try:
        event = fake_stripe.make_event(kind, {"id": "in_test_1", "object": "invoice"})
        delivery = fake_stripe.deliver(event)
    finally:
        off(kind, shop_handler)
    assert delivery.json()["outcome"] == "processed"
    assert recorder.calls == [(event["id"], kind, None)] and shop_calls == []
    assert handled_in(stripe_app, event["id"]) == [None]


def test_unknown_event_types_are_acknowledged_and_recorded(
    stripe_app, fake_stripe: FakeStripe, shop_with_stripe
):
    shop, account = shop_with_stripe()
    event = fake_stripe.make_event("issuing_card.created", {"id": "ic_1"}, account=account)
    delivery = fake_stripe.deliver(event)
    assert delivery.status == 200 and delivery.json()["outcome"] == "unhandled"
    row = stored_event(stripe_app, event["id"])
    assert row is not None and (row.status, row.tenant_id) == ("unhandled", shop.id)


def test_a_body_that_is_no_event_is_refused_even_when_signed(stripe_app, fake_stripe: FakeStripe):
    payload = json.dumps({"id": "evt_1", "object": "charge"}).encode()
    status, body = app_target(stripe_app)(
        payload, {"Stripe-Signature": fake_stripe.signature_header(payload)}
    )
    assert status == 400 and "not a Stripe event" in json.loads(body)["detail"]


@pytest.mark.parametrize("body", [b"[]", b"null", b'"evt_1"', b"42", b'{"data": "x"}', b"{"])
def test_a_signed_body_that_is_no_event_is_refused_with_400(
    stripe_app, fake_stripe: FakeStripe, body
):
    """Signed correctly, but no event object: a clear 400, not an error inside the SDK."""
    status, answer = app_target(stripe_app)(
        body,
        {
            "Stripe-Signature": fake_stripe.signature_header(body),
            "Content-Type": "application/json",
        },
    )
    assert status == 400
    problem = json.loads(answer)
    assert problem["title"] == "Invalid Stripe webhook"
    assert problem["detail"] in ("The body is not a Stripe event.", "The body is not a JSON event.")
