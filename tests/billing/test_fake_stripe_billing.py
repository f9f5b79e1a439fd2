"""The fake Stripe's Billing (tests/fakes/stripe_billing.py), driven by the real SDK:
customers, prices, Checkout in subscription mode, updates with prorations, renewals,
failed payments and retries, the customer portal, and the events each sends."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import stripe

from tests.fakes.stripe_server import ApiError, FakeStripe

DAY = 24 * 3600
SUCCESS = "http://shop.localhost/billing/done?session={CHECKOUT_SESSION_ID}"


@dataclass
class Billing:
    """A fresh fake, the SDK pointed at it, and the events it delivered."""

    fake: FakeStripe
    api: Any  # stripe.StripeClient(...).v1
    events: list[dict[str, Any]] = field(default_factory=list)

    def types(self) -> list[str]:
        self.fake.wait_for_webhooks()
        return [event["type"] for event in self.events]

    def take(self) -> list[dict[str, Any]]:
        """The events delivered so far (waiting for the background ones), then forget them."""
        self.fake.wait_for_webhooks()
        taken = list(self.events)
        self.events.clear()
        return taken


@pytest.fixture
def billing() -> Iterator[Billing]:
    fake = FakeStripe().start()
    client = stripe.StripeClient(fake.secret_key, base_addresses={"api": fake.base_url})
    state = Billing(fake, client.v1)

    def collect(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        state.events.append(json.loads(body))
        return 200, "ok"

    fake.webhook_target = collect
    yield state
    fake.wait_for_webhooks()
    fake.stop()


def plan(b: Billing, amount: int = 1000, interval: str = "month", name: str = "Basic") -> Any:
    return b.api.prices.create(
        params={
            "currency": "eur",
            "unit_amount": amount,
            "recurring": {"interval": interval},
            "product_data": {"name": name},
        }
    )


def checkout(b: Billing, price: Any, customer: Any = None, **extra: Any) -> Any:
    """A subscription-mode session for `customer` (an object or an id; a new one if
    None); `extra` parameters are added or replace the usual ones."""
    if customer is None:
        customer = b.api.customers.create(params={"email": "owner@shop.test", "name": "Olga"})
    params = {
        "mode": "subscription",
        "customer": getattr(customer, "id", customer),
        "line_items": [{"price": price.id, "quantity": 1}],
        "success_url": SUCCESS,
        "cancel_url": "http://shop.localhost/billing",
        "client_reference_id": "tenant-7",
        "metadata": {"tenant": "7"},
    }
    return b.api.checkout.sessions.create(params=params | extra)


def subscribe(b: Billing, price: Any, **extra: Any) -> dict[str, Any]:
    """Check out and press "Pay"; the new subscription (events forgotten)."""
    session = checkout(b, price, **extra)
    paid = requests.post(session.url, data={"action": "pay"}, allow_redirects=False, timeout=10)
    assert paid.status_code == 303
    b.take()
    return b.fake.subscription(b.fake.session(session.id)["subscription"])


def midway(b: Billing, sub: dict[str, Any]) -> tuple[int, int]:
    """Put the subscription ten days into a thirty-day period; (start, end)."""
    now = int(time.time())
    start, end = now - 10 * DAY, now + 20 * DAY
    b.fake.mutate("subscription", sub["id"], current_period_start=start, current_period_end=end)
    return start, end


def item(sub: Any) -> Any:
    return sub["items"]["data"][0]


# --- customers and prices -------------------------------------------------------------


def test_customers_replay_with_an_idempotency_key_and_stay_in_their_account(billing):
    api, fake = billing.api, billing.fake
    params = {"email": "a@b.test", "name": "Ann", "metadata": {"tenant": "7"}}
    first = api.customers.create(params=params, options={"idempotency_key": "signup-7"})
    again = api.customers.create(params=params, options={"idempotency_key": "signup-7"})
    assert again.id == first.id and first.id.startswith("cus_")
    assert (first.email, first.name, first.metadata.to_dict(), first.livemode) == (
        "a@b.test",
        "Ann",
        {"tenant": "7"},
        False,
    )
    assert first.invoice_settings.default_payment_method is None
    assert [c["id"] for c in fake.objects("customer")] == [first.id]
    with pytest.raises(stripe.IdempotencyError):
        api.customers.create(params={"email": "x@y.test"}, options={"idempotency_key": "signup-7"})
    assert api.customers.retrieve(first.id).email == "a@b.test"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        api.customers.create(params={"emial": "typo@b.test"})
    assert refused.value.param == "emial"
    # A connected account's customer is not the platform's.
    account = fake.connect_account()
    theirs = api.customers.create(params={"email": "c@d.test"}, options={"stripe_account": account})
    with pytest.raises(stripe.InvalidRequestError, match="No such customer"):
        api.customers.retrieve(theirs.id)


def test_prices_make_products_and_refuse_a_taken_lookup_key(billing):
    api = billing.api
    basic = api.prices.create(
        params={
            "currency": "EUR",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Basic"},
            "lookup_key": "basic_monthly",
            "nickname": "Basic monthly",
        }
    )
    assert (basic.type, basic.currency, basic.active, basic.lookup_key) == (
        "recurring",
        "eur",
        True,
        "basic_monthly",
    )
    assert basic.recurring.interval == "month" and basic.recurring.interval_count == 1
    assert basic.recurring.usage_type == "licensed"
    assert api.products.retrieve(basic.product).name == "Basic"
    assert api.prices.retrieve(basic.id).unit_amount == 1000

    taken = {
        "currency": "eur",
        "unit_amount": 1200,
        "recurring": {"interval": "month"},
        "product": basic.product,
        "lookup_key": "basic_monthly",
    }
    with pytest.raises(stripe.InvalidRequestError) as refused:
        api.prices.create(params=taken)
    assert refused.value.http_status == 400
    assert refused.value.user_message == f"A price (`{basic.id}`) already uses that lookup key."
    moved = api.prices.create(params={**taken, "transfer_lookup_key": True})
    assert api.prices.retrieve(basic.id).lookup_key is None
    listed = api.prices.list(params={"lookup_keys": ["basic_monthly"]})
    assert [p.id for p in listed.data] == [moved.id]
    with pytest.raises(stripe.InvalidRequestError, match="No such product"):
        api.prices.create(params={**taken, "product": "prod_nope", "lookup_key": None})


# --- Checkout in subscription mode ----------------------------------------------------


def test_a_subscription_checkout_refuses_what_stripe_refuses(billing):
    api, price = billing.api, plan(billing)
    customer = api.customers.create(params={"email": "o@shop.test"})
    one_time = api.prices.create(
        params={"currency": "eur", "unit_amount": 500, "product_data": {"name": "Setup"}}
    )
    cases = [
        ({"customer": "cus_missing"}, "No such customer"),
        ({"line_items": [{"price": "price_missing", "quantity": 1}]}, "No such price"),
        ({"line_items": [{"price": one_time.id, "quantity": 1}]}, "recurring price"),
        ({"customer_email": "o@shop.test"}, "customer, customer_email"),
        ({"subscription_data": {"trial_end": int(time.time()) + DAY}}, "2 days"),
        ({"subscription_data": {"trial_days": 3}}, "subscription_data[trial_days]"),
    ]
    for extra, message in cases:
        with pytest.raises(stripe.InvalidRequestError, match=re.escape(message)):
            checkout(billing, price, customer=extra.pop("customer", customer), **extra)
    assert billing.fake.objects("checkout.session") == []
    # No minimum amount in subscription mode.
    cheap = checkout(billing, plan(billing, amount=10), customer=customer)
    assert (cheap.mode, cheap.status, cheap.subscription) == ("subscription", "open", None)


def test_paying_starts_the_subscription_with_its_first_invoice_paid(billing):
    api, fake = billing.api, billing.fake
    price = plan(billing, name="Pro")
    session = checkout(billing, price, subscription_data={"metadata": {"tenant": "7"}})
    assert session.amount_total == 1000 and session.customer
    page = requests.get(session.url, timeout=10).text
    assert "Pro" in page and "10.00 EUR" in page and "per month" in page
    paid = requests.post(session.url, data={"action": "pay"}, allow_redirects=False, timeout=10)
    assert paid.headers["Location"] == SUCCESS.replace("{CHECKOUT_SESSION_ID}", session.id)

    # Delivered before the redirect, in Stripe's order, as platform events.
    events = billing.events
    assert [e["type"] for e in events] == [
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "checkout.session.completed",
    ]
    assert all("account" not in e for e in events)
    assert [e["data"]["object"]["status"] for e in events[1:4]] == ["draft", "open", "paid"]

    done = api.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    sub = api.subscriptions.retrieve(done.subscription)
    assert (sub.status, sub.customer, sub.metadata.to_dict()) == (
        "active",
        done.customer,
        {"tenant": "7"},
    )
    assert sub.collection_method == "charge_automatically" and sub.currency == "eur"
    line = item(sub)
    assert line.price.id == price.id and line.quantity == 1
    assert 28 * DAY <= line.current_period_end - line.current_period_start <= 31 * DAY
    assert "current_period_end" not in sub  # on the items in this API version

    customer = api.customers.retrieve(done.customer)
    card = api.payment_methods.retrieve(customer.invoice_settings.default_payment_method)
    assert (card.card.brand, card.card.last4, card.customer) == ("visa", "4242", customer.id)
    invoice = api.invoices.retrieve(sub.latest_invoice)
    assert (invoice.status, invoice.billing_reason, invoice.amount_paid) == (
        "paid",
        "subscription_create",
        1000,
    )
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.parent.subscription_details.metadata.to_dict() == {"tenant": "7"}
    assert "subscription" not in invoice and invoice.number.endswith("-0001")
    assert requests.get(invoice.hosted_invoice_url, timeout=10).status_code == 200
    pdf = requests.get(invoice.invoice_pdf, timeout=10)
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert {k: len(fake.objects(k)) for k in ("customer", "price", "subscription", "invoice")} == {
        "customer": 1,
        "price": 1,
        "subscription": 1,
        "invoice": 1,
    }


def test_a_trial_starts_trialing_and_its_first_renewal_bills(billing):
    fake, api = billing.fake, billing.api
    trial_end = int(time.time()) + 14 * DAY
    session = checkout(billing, plan(billing), subscription_data={"trial_end": trial_end})
    assert session.amount_total == 0
    assert "free trial" in requests.get(session.url, timeout=10).text
    requests.post(session.url, data={"action": "pay"}, allow_redirects=False, timeout=10)
    assert billing.types() == ["customer.subscription.created", "checkout.session.completed"]
    done = fake.session(session.id)
    assert done["payment_status"] == "no_payment_required"
    sub = api.subscriptions.retrieve(done["subscription"])
    assert (sub.status, sub.trial_end, sub.latest_invoice) == ("trialing", trial_end, None)
    assert item(sub).current_period_end == trial_end

    billing.take()
    fake.trial_will_end(sub.id)
    assert billing.types() == ["customer.subscription.trial_will_end"]
    billing.take()
    invoice = fake.renew(sub.id)
    assert (invoice["billing_reason"], invoice["status"]) == ("subscription_create", "paid")
    assert billing.types() == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "customer.subscription.updated",
    ]
    updated = billing.events[-1]["data"]
    assert updated["object"]["status"] == "active"
    assert updated["previous_attributes"]["status"] == "trialing"
    assert item(fake.subscription(sub.id))["current_period_start"] == trial_end


def test_a_declined_card_completes_nothing_and_held_events_can_be_reordered(billing):
    fake = billing.fake
    session = checkout(billing, plan(billing))
    declined = requests.post(session.url, data={"action": "decline"}, timeout=10)
    assert declined.status_code == 402 and "Your card was declined." in declined.text
    assert fake.session(session.id)["status"] == "open"
    assert fake.objects("subscription") == [] and billing.types() == []

    with fake.hold_webhooks() as held:
        requests.post(session.url, data={"action": "pay"}, allow_redirects=False, timeout=10)
    assert billing.events == [] and len(held) == 5
    fake.release_webhooks(held, reverse=True)
    assert billing.types()[0] == "checkout.session.completed"


def test_retrieve_expands_the_card_and_the_latest_invoice(billing):
    api, fake = billing.api, billing.fake
    sub = subscribe(billing, plan(billing))
    shown = api.subscriptions.retrieve(
        sub["id"], params={"expand": ["default_payment_method", "latest_invoice"]}
    )
    assert shown.default_payment_method.card.last4 == "4242"
    assert shown.latest_invoice.id == sub["latest_invoice"]
    assert shown.latest_invoice.status == "paid"
    assert fake.subscription(sub["id"])["default_payment_method"].startswith("pm_")
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        api.subscriptions.retrieve(sub["id"], params={"expand": ["status"]})


def test_subscriptions_list_by_customer_and_status(billing):
    api = billing.api
    customer = api.customers.create(params={"email": "two@shop.test"})
    first = subscribe(billing, plan(billing), customer=customer)
    second = subscribe(billing, plan(billing, name="Pro"), customer=customer)
    subscribe(billing, plan(billing))  # another customer's
    api.subscriptions.cancel(first["id"])
    listed = api.subscriptions.list(params={"customer": customer.id})
    assert [s.id for s in listed.data] == [second["id"]]  # canceled ones only on request
    assert (listed.object, listed.has_more, listed.url) == ("list", False, "/v1/subscriptions")
    every = api.subscriptions.list(params={"customer": customer.id, "status": "all"})
    assert [s.id for s in every.data] == [second["id"], first["id"]]
    page = api.subscriptions.list(params={"customer": customer.id, "status": "all", "limit": 1})
    assert len(page.data) == 1 and page.has_more
    canceled = api.subscriptions.list(params={"customer": customer.id, "status": "canceled"})
    assert [s.id for s in canceled.data] == [first["id"]]


# --- updates and prorations -----------------------------------------------------------


def test_always_invoice_bills_the_proration_at_once(billing):
    api, fake = billing.api, billing.fake
    sub = subscribe(billing, plan(billing, amount=1000))
    start, end = midway(billing, sub)
    pro = plan(billing, amount=3000, name="Pro")
    updated = api.subscriptions.update(
        sub["id"],
        params={
            "items": [{"id": item(sub)["id"], "price": pro.id}],
            "proration_behavior": "always_invoice",
        },
    )
    assert item(updated).price.id == pro.id
    events = billing.take()  # sent from the background
    assert [e["type"] for e in events] == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "customer.subscription.updated",
    ]
    previous = events[-1]["data"]["previous_attributes"]
    assert previous["items"]["data"][0]["price"]["id"] == sub["items"]["data"][0]["price"]["id"]
    assert previous["latest_invoice"] == sub["latest_invoice"]

    invoice = fake.invoice(updated.latest_invoice)
    assert (invoice["billing_reason"], invoice["status"]) == ("subscription_update", "paid")
    lines = invoice["lines"]["data"]
    assert [line["description"].split(" on ")[0] for line in lines] == [
        "Unused time",
        "Remaining time",
    ]
    now = lines[0]["period"]["start"]
    assert lines[0]["period"]["end"] == end
    exact = (3000 - 1000) * (end - now) / (end - start)
    assert abs(invoice["amount_paid"] - exact) <= 0.5  # round((new - old) * left / period)
    assert invoice["amount_paid"] == sum(line["amount"] for line in lines)
    assert abs(invoice["amount_paid"] - 1333) <= 1  # two thirds of the difference
    assert item(fake.subscription(sub["id"]))["current_period_end"] == end  # same cycle


def test_create_prorations_wait_for_the_next_renewal(billing):
    api, fake = billing.api, billing.fake
    sub = subscribe(billing, plan(billing, amount=1000))
    start, end = midway(billing, sub)
    pro = plan(billing, amount=2500, name="Pro")
    api.subscriptions.update(
        sub["id"], params={"items": [{"id": item(sub)["id"], "price": pro.id}]}
    )
    assert billing.types() == ["customer.subscription.updated"]  # no invoice yet
    assert len(fake.objects("invoice")) == 1

    invoice = fake.renew(sub["id"])
    assert invoice["billing_reason"] == "subscription_cycle"
    lines = invoice["lines"]["data"]
    assert [line["parent"]["subscription_item_details"]["proration"] for line in lines] == [
        False,
        True,
        True,
    ]
    proration = lines[1]["amount"] + lines[2]["amount"]
    assert abs(proration - 1500 * (end - lines[1]["period"]["start"]) / (end - start)) <= 0.5
    assert invoice["amount_paid"] == 2500 + proration
    assert item(fake.subscription(sub["id"]))["current_period_start"] == end


def test_a_downgrade_becomes_credit_on_the_next_invoice(billing):
    api, fake = billing.api, billing.fake
    sub = subscribe(billing, plan(billing, amount=3000))
    midway(billing, sub)
    basic = plan(billing, amount=2000, name="Basic")
    updated = api.subscriptions.update(
        sub["id"],
        params={
            "items": [{"id": item(sub)["id"], "price": basic.id}],
            "proration_behavior": "always_invoice",
        },
    )
    credit = fake.invoice(updated.latest_invoice)
    assert credit["total"] < 0 and credit["amount_due"] == 0 and credit["status"] == "paid"
    assert fake.customer(sub["customer"])["balance"] == credit["total"]
    renewal = fake.renew(sub["id"])
    assert renewal["starting_balance"] == credit["total"]
    assert renewal["amount_paid"] == 2000 + credit["total"]
    assert fake.customer(sub["customer"])["balance"] == 0

    none = api.subscriptions.update(
        sub["id"],
        params={
            "items": [{"id": item(sub)["id"], "price": plan(billing).id}],
            "proration_behavior": "none",
        },
    )
    assert none.latest_invoice == renewal["id"] and len(fake.objects("invoiceitem")) == 2


def test_changing_the_interval_restarts_the_period_and_bills_now(billing):
    api, fake = billing.api, billing.fake
    sub = subscribe(billing, plan(billing, amount=1000))
    start, end = midway(billing, sub)
    yearly = plan(billing, amount=10000, interval="year", name="Basic yearly")
    updated = api.subscriptions.update(
        sub["id"], params={"items": [{"id": item(sub)["id"], "price": yearly.id}]}
    )
    period = item(updated)
    assert 365 * DAY <= period.current_period_end - period.current_period_start <= 366 * DAY
    assert abs(period.current_period_start - time.time()) < 60
    invoice = fake.invoice(updated.latest_invoice)
    assert invoice["billing_reason"] == "subscription_update" and invoice["status"] == "paid"
    unused = invoice["lines"]["data"][0]
    assert unused["amount"] < 0
    assert abs(unused["amount"] + 1000 * (end - unused["period"]["start"]) / (end - start)) <= 0.5
    assert invoice["amount_paid"] == 10000 + unused["amount"]


def test_a_declined_update_leaves_the_invoice_open_and_the_subscription_past_due(billing):
    api, fake = billing.api, billing.fake
    sub = subscribe(billing, plan(billing, amount=1000))
    midway(billing, sub)
    fake.decline_cards(sub["customer"])
    updated = api.subscriptions.update(
        sub["id"],
        params={
            "items": [{"id": item(sub)["id"], "price": plan(billing, amount=2000).id}],
            "proration_behavior": "always_invoice",
            "metadata": {"plan": "pro"},
        },
    )
    assert updated.status == "past_due" and updated.metadata.to_dict() == {"plan": "pro"}
    invoice = fake.invoice(updated.latest_invoice)
    assert (invoice["status"], invoice["attempt_count"]) == ("open", 1)
    events = billing.take()
    assert [e["type"] for e in events][-2:] == [
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    previous = events[-1]["data"]["previous_attributes"]
    assert previous["status"] == "active" and previous["metadata"] == {}


def test_ending_a_trial_now_bills_and_activates(billing):
    api, fake = billing.api, billing.fake
    trial_end = int(time.time()) + 7 * DAY
    sub = subscribe(billing, plan(billing), subscription_data={"trial_end": trial_end})
    ended = api.subscriptions.update(sub["id"], params={"trial_end": "now"})
    assert ended.status == "active" and ended.trial_end <= time.time()
    assert fake.invoice(ended.latest_invoice)["amount_paid"] == 1000
    assert billing.types()[-1] == "customer.subscription.updated"


# --- renewals, failures and retries ---------------------------------------------------


def test_a_renewal_is_charged_and_moves_the_period(billing):
    fake = billing.fake
    sub = subscribe(billing, plan(billing))
    old = item(sub)
    invoice = fake.renew(sub["id"])
    assert (invoice["billing_reason"], invoice["status"], invoice["amount_paid"]) == (
        "subscription_cycle",
        "paid",
        1000,
    )
    assert invoice["number"].endswith("-0002")
    assert (invoice["period_start"], invoice["period_end"]) == (
        old["current_period_start"],
        old["current_period_end"],
    )
    assert billing.types() == [  # synchronously, as the helper returns
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "customer.subscription.updated",
    ]
    now = fake.subscription(sub["id"])
    assert item(now)["current_period_start"] == old["current_period_end"]
    assert now["latest_invoice"] == invoice["id"] and now["status"] == "active"


def test_a_failed_renewal_is_retried_until_paid(billing):
    fake = billing.fake
    sub = subscribe(billing, plan(billing))
    fake.decline_cards(sub["customer"])
    invoice = fake.renew(sub["id"])
    assert (invoice["status"], invoice["attempt_count"]) == ("open", 1)
    assert invoice["next_payment_attempt"] - time.time() > 2 * DAY
    assert billing.types()[-2:] == ["invoice.payment_failed", "customer.subscription.updated"]
    assert fake.subscription(sub["id"])["status"] == "past_due"

    billing.take()
    again = fake.retry_invoice(invoice["id"])
    assert (again["status"], again["attempt_count"]) == ("open", 2)
    assert billing.types() == ["invoice.payment_failed"]  # the subscription was past due

    billing.take()
    fake.decline_cards(sub["customer"], declined=False)
    paid = fake.retry_invoice(invoice["id"])
    assert (paid["status"], paid["attempt_count"], paid["next_payment_attempt"]) == (
        "paid",
        3,
        None,
    )
    events = billing.take()
    assert [e["type"] for e in events] == ["invoice.paid", "customer.subscription.updated"]
    assert events[1]["data"]["object"]["status"] == "active"
    assert events[1]["data"]["previous_attributes"] == {"status": "past_due"}
    with pytest.raises(ApiError, match="already paid"):
        fake.retry_invoice(invoice["id"])


def test_update_card_pays_the_open_invoice(billing):
    fake, api = billing.fake, billing.api
    sub = subscribe(billing, plan(billing))
    fake.decline_cards(sub["customer"])
    invoice = fake.renew(sub["id"])
    billing.take()
    card = fake.update_card(sub["customer"])
    assert (card["card"]["brand"], card["card"]["last4"]) == ("mastercard", "4444")
    customer = api.customers.retrieve(sub["customer"])
    assert customer.invoice_settings.default_payment_method == card["id"]
    assert fake.invoice(invoice["id"])["status"] == "paid"
    events = billing.take()
    assert [e["type"] for e in events] == ["invoice.paid", "customer.subscription.updated"]
    assert events[1]["data"]["object"]["status"] == "active"
    assert events[1]["data"]["object"]["default_payment_method"] == card["id"]


# --- the customer portal, cancelling --------------------------------------------------


def test_the_portal_shows_the_plan_and_its_buttons_work(billing):
    api, fake = billing.api, billing.fake
    sub = subscribe(billing, plan(billing, name="Pro"))
    with pytest.raises(stripe.InvalidRequestError, match="No such customer"):
        api.billing_portal.sessions.create(params={"customer": "cus_nope"})
    portal = api.billing_portal.sessions.create(
        params={"customer": sub["customer"], "return_url": "http://shop.localhost/billing"}
    )
    assert portal.id.startswith("bps_") and portal.object == "billing_portal.session"
    assert portal.url == fake.url(f"/portal/{portal.id}") and portal.livemode is False
    page = requests.get(portal.url, timeout=10).text
    assert "<h1>" in page and "Pro" in page and "active" in page
    assert "Visa ending in 4242" in page
    assert '<a href="http://shop.localhost/billing">Return to the shop</a>' in page
    for label in ("Update card", "Cancel plan"):
        assert f">{label}</button>" in page

    fake.decline_cards(sub["customer"])
    fake.renew(sub["id"])
    assert "past_due" in requests.get(portal.url, timeout=10).text
    billing.take()
    updated = requests.post(
        portal.url, data={"action": "update_card"}, allow_redirects=False, timeout=10
    )
    assert updated.status_code == 303 and updated.headers["Location"] == portal.url
    assert billing.types() == ["invoice.paid", "customer.subscription.updated"]  # before it
    page = requests.get(portal.url, timeout=10).text
    assert "Mastercard ending in 4444" in page and "past_due" not in page

    billing.take()
    requests.post(portal.url, data={"action": "cancel", "subscription": sub["id"]}, timeout=10)
    assert billing.types() == ["customer.subscription.updated"]
    assert fake.subscription(sub["id"])["cancel_at_period_end"] is True
    assert ">Renew plan</button>" in requests.get(portal.url, timeout=10).text


def test_cancel_at_period_end_ends_the_subscription_at_renewal(billing):
    api, fake = billing.api, billing.fake
    sub = subscribe(billing, plan(billing))
    marked = api.subscriptions.update(sub["id"], params={"cancel_at_period_end": True})
    assert marked.cancel_at_period_end and marked.status == "active"
    assert marked.cancel_at == item(sub)["current_period_end"] and marked.canceled_at
    events = billing.take()
    assert events[0]["data"]["previous_attributes"]["cancel_at_period_end"] is False

    ended = fake.renew(sub["id"])
    assert ended["status"] == "canceled" and ended["ended_at"] <= time.time()
    assert billing.types() == ["customer.subscription.deleted"]
    assert len(fake.objects("invoice")) == 1  # nothing billed
    with pytest.raises(ApiError, match="canceled"):
        fake.renew(sub["id"])


def test_deleting_cancels_at_once(billing):
    api = billing.api
    sub = subscribe(billing, plan(billing))
    canceled = api.subscriptions.cancel(sub["id"])
    assert canceled.status == "canceled" and canceled.canceled_at == canceled.ended_at
    assert billing.types() == ["customer.subscription.deleted"]
    with pytest.raises(stripe.InvalidRequestError, match="canceled subscription"):
        api.subscriptions.update(sub["id"], params={"cancel_at_period_end": True})
    kept = api.subscriptions.update(sub["id"], params={"metadata": {"a": "b"}})
    assert kept.metadata.to_dict() == {"a": "b"}


# --- invoices and drift ---------------------------------------------------------------


def test_invoices_list_newest_first(billing):
    api, fake = billing.api, billing.fake
    sub = subscribe(billing, plan(billing))
    other = subscribe(billing, plan(billing), customer=api.customers.retrieve(sub["customer"]))
    second, third = fake.renew(sub["id"]), fake.renew(sub["id"])
    listed = api.invoices.list(params={"subscription": sub["id"]})
    assert [i.id for i in listed.data] == [third["id"], second["id"], sub["latest_invoice"]]
    mine = api.invoices.list(params={"customer": sub["customer"], "limit": 2})
    assert [i.id for i in mine.data] == [third["id"], second["id"]] and mine.has_more
    rest = api.invoices.list(params={"customer": sub["customer"], "starting_after": second["id"]})
    assert [i.id for i in rest.data] == [other["latest_invoice"], sub["latest_invoice"]]
    assert api.invoices.retrieve(third["id"]).number.endswith("-0004")


def test_mutate_drifts_objects_without_any_event(billing):
    api, fake = billing.api, billing.fake
    sub = subscribe(billing, plan(billing))
    pro = plan(billing, amount=5000, name="Pro")
    end = int(time.time()) + 3 * DAY
    changed = fake.mutate(
        "subscription", sub["id"], price_id=pro.id, current_period_end=end, status="unpaid"
    )
    assert item(changed)["price"]["id"] == pro.id and changed["status"] == "unpaid"
    fake.mutate("customer", sub["customer"], email="new@shop.test")
    fake.mutate("invoice", sub["latest_invoice"], status="void")
    seen = api.subscriptions.retrieve(sub["id"])
    assert (item(seen).price.id, item(seen).current_period_end) == (pro.id, end)
    assert api.customers.retrieve(sub["customer"]).email == "new@shop.test"
    assert api.invoices.retrieve(sub["latest_invoice"]).status == "void"
    assert billing.types() == []
    with pytest.raises(ValueError, match="no field"):
        fake.mutate("subscription", sub["id"], current_period_ends=end)


def test_with_stripes_timing_the_pay_events_come_from_the_background(billing):
    billing.fake.sync_payment_webhooks = False
    session = checkout(billing, plan(billing))
    requests.post(session.url, data={"action": "pay"}, allow_redirects=False, timeout=10)
    assert billing.types() == [  # types() waits for the background queue
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "checkout.session.completed",
    ]


def test_concurrent_renewals_each_bill_their_own_period(billing):
    fake = billing.fake
    sub = subscribe(billing, plan(billing))
    start = item(sub)["current_period_start"]
    barrier = threading.Barrier(5)
    invoices: list[dict[str, Any]] = []

    def renew() -> None:
        barrier.wait()
        invoices.append(fake.renew(sub["id"]))

    threads = [threading.Thread(target=renew) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    numbers = sorted(i["number"].rsplit("-", 1)[1] for i in invoices)
    assert numbers == ["0002", "0003", "0004", "0005", "0006"]
    periods = sorted(i["lines"]["data"][0]["period"]["start"] for i in invoices)
    assert len(set(periods)) == 5 and periods[0] > start
    assert fake.subscription(sub["id"])["latest_invoice"] in {i["id"] for i in invoices}
    assert billing.types().count("invoice.paid") == 5
