"""The Stripe wrapper (`saas.payments.stripe_api`), the real SDK against the fake Stripe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from saas.payments import stripe_api
from saas.payments.stripe_api import LineItem, StripeFailure
from tests.fakes.stripe_server import FakeStripe

ITEMS = [
    LineItem("Blue mug", 1250, 2, "USD"),
    LineItem("Shipping", 500, 1, "USD"),
]


def session_for(account: str, key: str, **kwargs):
    return stripe_api.create_checkout_session(
        account,
        ITEMS,
        success_url="http://shop.localhost/checkout/done?session={CHECKOUT_SESSION_ID}",
        cancel_url="http://shop.localhost/checkout",
        metadata={"order_id": "17"},
        idempotency_key=key,
        **kwargs,
    )


def test_nothing_is_configured_by_default(app):
    with app.app_context():
        assert not stripe_api.configured() and not stripe_api.connect_configured()
        with pytest.raises(stripe_api.StripeNotConfigured):
            session_for("acct_x", "k")


def test_checkout_session_on_a_connected_account(stripe_app, fake_stripe: FakeStripe):
    account = fake_stripe.connect_account()
    expires = datetime.now(UTC) + timedelta(minutes=45)
    with stripe_app.app_context():
        assert stripe_api.configured() and stripe_api.connect_configured()
        session = session_for(account, "order-17", expires_at=expires, customer_email="a@b.co")
        assert session.id.startswith("cs_test_")
        assert session.url == fake_stripe.url(f"/pay/{session.id}")
        assert (session.status, session.payment_status) == ("open", "unpaid")
        assert (session.amount_total, session.currency) == (3000, "usd")
        assert session.expires_at == int(expires.timestamp())
        assert session.metadata == {"order_id": "17"}

        # The same key makes the same session; another key makes another.
        assert (
            session_for(account, "order-17", expires_at=expires, customer_email="a@b.co") == session
        )
        assert session_for(account, "order-18").id != session.id
        # The same key with other parameters is refused, as by Stripe.
        with pytest.raises(StripeFailure, match="same parameters"):
            session_for(account, "order-17")

        # It belongs to the merchant's account: the platform's own space and other
        # merchants cannot see it.
        other = fake_stripe.connect_account()
        with pytest.raises(StripeFailure, match=r"No such checkout\.session") as missing:
            stripe_api.retrieve_checkout_session(other, session.id)
        assert missing.value.status == 404
        assert stripe_api.retrieve_checkout_session(account, session.id).status == "open"

    [created] = [
        s for s in fake_stripe.objects("checkout.session", account) if s["id"] == session.id
    ]
    assert created["customer_email"] == "a@b.co"


def test_paying_completes_the_session_and_sends_a_signed_event(stripe_app, fake_stripe):
    account = fake_stripe.connect_account()
    with stripe_app.app_context():
        session = session_for(account, "pay-1")
    sent: list[tuple[bytes, dict[str, str]]] = []

    def capture(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        sent.append((body, headers))
        return 200, ""

    fake_stripe.webhook_target = capture

    success = fake_stripe.pay(session.id, email="buyer@example.com")

    assert success == f"http://shop.localhost/checkout/done?session={session.id}"
    [(body, headers)] = sent
    with stripe_app.app_context():
        event = stripe_api.construct_event(body, headers["Stripe-Signature"])
    assert (event.type, event.account) == ("checkout.session.completed", account)
    assert event.object["id"] == session.id and event.object["payment_status"] == "paid"
    assert event.object["metadata"] == {"order_id": "17"}
    with stripe_app.app_context():
        paid = stripe_api.retrieve_checkout_session(account, session.id)
        assert (paid.status, paid.payment_status, paid.url) == ("complete", "paid", None)
        assert paid.customer_email == "buyer@example.com"
        intent = stripe_api.retrieve_payment_intent(account, paid.payment_intent or "")
        assert (intent.amount_received, intent.status) == (3000, "succeeded")
        assert intent.metadata == {"order_id": "17"}
        with pytest.raises(StripeFailure, match="No such payment_intent"):
            stripe_api.retrieve_payment_intent(fake_stripe.connect_account(), intent.id)


def test_the_hosted_page_pays_declines_and_cancels(stripe_app, fake_stripe: FakeStripe):
    account = fake_stripe.connect_account()
    with stripe_app.app_context():
        session = session_for(account, "page-1")
    page = requests.get(session.url or "", timeout=10)
    assert page.status_code == 200 and "Blue mug" in page.text and "30.00 USD" in page.text

    declined = requests.post(session.url or "", data={"action": "decline"}, timeout=10)
    assert declined.status_code == 402 and "Your card was declined." in declined.text
    cancelled = requests.post(
        session.url or "", data={"action": "cancel"}, allow_redirects=False, timeout=10
    )
    assert cancelled.headers["Location"] == "http://shop.localhost/checkout"
    assert fake_stripe.session(session.id)["status"] == "open"

    paid = requests.post(
        session.url or "",
        data={"action": "pay", "email": "x@y.z"},
        allow_redirects=False,
        timeout=10,
    )
    assert paid.status_code == 303
    assert paid.headers["Location"].endswith(f"session={session.id}")
    assert fake_stripe.session(session.id)["payment_status"] == "paid"
    assert requests.get(session.url or "", timeout=10).status_code == 410


def test_expiring_a_session(stripe_app, fake_stripe: FakeStripe):
    account = fake_stripe.connect_account()
    with stripe_app.app_context():
        session = session_for(account, "exp-1")
        before = len(fake_stripe.deliveries)
        expired = stripe_api.expire_checkout_session(account, session.id)
        assert (expired.status, expired.url) == ("expired", None)
        # Again: Stripe refuses, the wrapper reports the session as it is.
        assert stripe_api.expire_checkout_session(account, session.id).status == "expired"
    fake_stripe.wait_for_webhooks()
    assert [d.type for d in fake_stripe.deliveries[before:]] == ["checkout.session.expired"]
    with pytest.raises(Exception, match="expired"):
        fake_stripe.pay(session.id)


def test_refunds(stripe_app, fake_stripe: FakeStripe):
    account = fake_stripe.connect_account()
    with stripe_app.app_context():
        session = session_for(account, "ref-1")
        fake_stripe.pay(session.id)
        intent = stripe_api.retrieve_checkout_session(account, session.id).payment_intent or ""

        first = stripe_api.refund(account, intent, 1000, "refund-1", reason="requested_by_customer")
        assert (first.amount, first.status, first.payment_intent) == (1000, "succeeded", intent)
        assert (
            stripe_api.refund(account, intent, 1000, "refund-1", reason="requested_by_customer")
            == first
        )  # retried: one refund
        with pytest.raises(StripeFailure, match="greater than unrefunded amount") as too_much:
            stripe_api.refund(account, intent, 2500, "refund-2")
        assert too_much.value.code == "amount_too_large"
        assert stripe_api.refund(account, intent, 2000, "refund-3").amount == 2000
        with pytest.raises(StripeFailure, match="already been refunded"):
            stripe_api.refund(account, intent, 1, "refund-4")
        # Another merchant's payment cannot be refunded from here.
        with pytest.raises(StripeFailure, match="No such payment_intent"):
            stripe_api.refund(fake_stripe.connect_account(), intent, 1, "refund-5")
    assert len(fake_stripe.objects("refund", account)) == 2


def test_bad_keys_and_revoked_accounts_are_clear_failures(stripe_app, fake_stripe: FakeStripe):
    account = fake_stripe.connect_account()
    with stripe_app.app_context():
        stripe_app.config["STRIPE_SECRET_KEY"] = "sk_test_wrong"
        with pytest.raises(StripeFailure, match="keys were refused"):
            session_for(account, "bad-key")
        stripe_app.config["STRIPE_SECRET_KEY"] = fake_stripe.secret_key
        fake_stripe.revoke_account(account)
        with pytest.raises(StripeFailure, match="no longer has access") as revoked:
            session_for(account, "revoked")
        assert revoked.value.status == 403


def test_an_unreachable_stripe_is_retryable(stripe_app):
    stripe_app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    with stripe_app.app_context(), pytest.raises(StripeFailure, match="could not be reached") as e:
        stripe_api.retrieve_checkout_session("acct_1", "cs_test_1")
    assert e.value.retryable
