"""Merchants paying for plans through Stripe Billing (the fake Stripe server, the real
SDK, webhooks signed with Stripe's scheme): subscribe, change plan with proration, fail
a payment and walk the dunning states to closure and back, cancel at the period's end;
duplicates, reordering, stale and forged deliveries; reconciliation; isolation."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from saas.billing import dunning
from saas.billing.reconcile import reconcile
from saas.db import db
from saas.jobs import make_worker
from saas.models import AuditEvent, Invoice, Subscription, Tenant
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tests.factories import make_plan, subscribe

DAY = timedelta(days=1)


@pytest.fixture
def plans(app):
    small = make_plan(
        app, None, name="Small", price_cents=1000, yearly_price_cents=10000, trial_days=14
    )
    big = make_plan(app, None, name="Big", price_cents=3000, yearly_price_cents=30000)
    return small, big


def code_of(app, plan_id: int) -> str:
    from saas.models import Plan

    with app.app_context():
        return db.session.get(Plan, plan_id).code


def row(app, tenant) -> Subscription:
    with app.app_context():
        found = db.session.scalar(select(Subscription).where(Subscription.tenant_id == tenant.id))
        db.session.expunge(found)
        return found


def closes_at(app, tenant) -> datetime | None:
    with app.app_context():
        return db.session.get(Tenant, tenant.id).billing_closes_at


def invoices(app, tenant) -> list[Invoice]:
    with app.app_context():
        found = db.session.scalars(
            select(Invoice).where(Invoice.tenant_id == tenant.id).order_by(Invoice.issued_at)
        ).all()
        for invoice in found:
            db.session.expunge(invoice)
        return list(found)


def mail(app, tenant) -> list[str]:
    make_worker(app).work(burst=True)
    with app.app_context(), tenant_context(tenant):
        return list(db.session.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id)))


def end_trial_now(app, tenant) -> None:
    """Make the shop's trial nearly over (less than Checkout's 48 hours left)."""
    with app.app_context():
        db.session.execute(
            update(Subscription)
            .where(Subscription.tenant_id == tenant.id)
            .values(trial_ends_at=datetime.now(UTC) + timedelta(hours=1))
        )
        db.session.commit()


def shop_and_owner(app, make_tenant, staff_client, plan_id, *, trial=True):
    shop = make_tenant(owner_email=f"owner-{time.time_ns()}@example.com")
    subscribe(app, shop, plan_id)
    if not trial:
        end_trial_now(app, shop)
    owner = staff_client(shop, role="owner")
    return shop, owner


def subscribe_through_checkout(app, fake, owner, plan_code, interval="month") -> str:
    confirm = owner.get(f"/admin/billing/plan?plan={plan_code}&interval={interval}")
    assert confirm.status_code == 200 and "Continue to payment" in confirm.text
    to_stripe = owner.post("/admin/billing/plan", data={"plan": plan_code, "interval": interval})
    assert to_stripe.status_code == 303 and to_stripe.location.startswith(fake.url("/pay/"))
    session_id = to_stripe.location.rstrip("/").rsplit("/", 1)[-1]
    success = fake.pay(session_id)
    parts = urlsplit(success)
    back = owner.get(f"{parts.path}?{parts.query}")
    assert back.status_code == 303
    return session_id


def test_subscribing_without_a_trial_pays_at_once_and_the_page_shows_it(
    stripe_app, fake_stripe, make_tenant, staff_client, plans
):
    app = stripe_app
    small, big = plans
    shop, owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    page = owner.get("/admin/billing").text
    assert "Free trial" in page and "Choose Big monthly" in page

    subscribe_through_checkout(app, fake_stripe, owner, code_of(app, big))

    sub = row(app, shop)
    assert sub.status == "active" and sub.plan_id == big and sub.interval == "month"
    assert sub.stripe_subscription_id.startswith("sub_")
    assert sub.payment_method == "Visa •••• 4242"
    paid = invoices(app, shop)
    assert [(i.status, i.amount_paid_cents) for i in paid] == [("paid", 3000)]
    page = owner.get("/admin/billing").text
    assert "Your plan: Big" in page and "Active" in page
    assert "Visa •••• 4242" in page and paid[0].number in page
    assert "$30.00 on" in page  # the next invoice
    # Stripe's own record agrees, and its customer is this shop's.
    theirs = fake_stripe.subscription(sub.stripe_subscription_id)
    assert theirs["customer"] == sub.stripe_customer_id
    assert fake_stripe.customer(sub.stripe_customer_id)["metadata"]["tenant_id"] == str(shop.id)


def test_a_trial_keeps_its_days_when_the_merchant_subscribes(
    stripe_app, fake_stripe, make_tenant, staff_client, plans
):
    app = stripe_app
    small, big = plans
    shop, owner = shop_and_owner(app, make_tenant, staff_client, small)
    trial_end = row(app, shop).trial_ends_at
    subscribe_through_checkout(app, fake_stripe, owner, code_of(app, big), "year")
    sub = row(app, shop)
    assert sub.status == "trialing" and sub.plan_id == big and sub.interval == "year"
    assert abs((sub.trial_ends_at - trial_end).total_seconds()) < 2
    assert invoices(app, shop) == [] or all(i.amount_paid_cents == 0 for i in invoices(app, shop))
    page = owner.get("/admin/billing").text
    assert "Active, in its free trial" in page and "$300.00 a year" in page


def test_upgrading_charges_the_prorated_difference_and_downgrading_credits(
    stripe_app, fake_stripe, make_tenant, staff_client, plans
):
    app = stripe_app
    small, big = plans
    shop, owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    subscribe_through_checkout(app, fake_stripe, owner, code_of(app, small))
    assert row(app, shop).plan_id == small

    answer = owner.post(
        "/admin/billing/plan", data={"plan": code_of(app, big), "interval": "month"}
    )
    assert answer.status_code == 303
    assert (
        "The difference for the rest of this period has been charged"
        in owner.get("/admin/billing").text
    )
    fake_stripe.wait_for_webhooks()
    sub = row(app, shop)
    assert sub.plan_id == big
    upgrade = [i for i in invoices(app, shop) if i.billing_reason == "subscription_update"]
    assert len(upgrade) == 1 and upgrade[0].status == "paid"
    # Nearly a whole month was left: close to the full 20.00 difference, never more.
    assert 1900 <= upgrade[0].amount_paid_cents <= 2000

    owner.post("/admin/billing/plan", data={"plan": code_of(app, small), "interval": "month"})
    fake_stripe.wait_for_webhooks()
    assert row(app, shop).plan_id == small
    assert len([i for i in invoices(app, shop) if i.billing_reason == "subscription_update"]) == 1
    theirs = fake_stripe.subscription(row(app, shop).stripe_subscription_id)
    assert theirs["items"]["data"][0]["price"]["unit_amount"] == 1000


def test_a_failed_payment_walks_dunning_to_closure_and_paying_reopens_at_once(
    stripe_app, fake_stripe, make_tenant, staff_client, shop_client, plans
):
    app = stripe_app
    small, _ = plans
    shop, owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    subscribe_through_checkout(app, fake_stripe, owner, code_of(app, small))
    sub = row(app, shop)
    fake_stripe.decline_cards(sub.stripe_customer_id)
    failed = fake_stripe.renew(sub.stripe_subscription_id)
    assert failed["status"] == "open"

    sub = row(app, shop)
    assert sub.status == "past_due" and sub.past_due_since is not None
    closing = closes_at(app, shop)
    assert timedelta(days=13) < closing - datetime.now(UTC) <= timedelta(days=14)
    assert mail(app, shop)[-1] == f"Your payment for {shop.name} failed"
    # Within the grace period the shop still sells; the back office warns.
    assert shop_client(shop).get("/").status_code == 200
    banner = owner.get("/admin/products").text
    assert "payment is overdue" in banner and "Pay now" in banner

    # The clock: reminders on the configured days, once each.
    with app.app_context():
        dunning.sweep(at=sub.past_due_since + 3 * DAY + timedelta(hours=1))
        dunning.sweep(at=sub.past_due_since + 3 * DAY + timedelta(hours=2))
    assert mail(app, shop).count(f"Reminder: the payment for {shop.name} is overdue") == 1

    # The grace period ends: shoppers see the closed page, the back office only billing.
    with app.app_context():
        # Through the ORM, as the app does: its commit refreshes the host cache.
        db.session.get(Tenant, shop.id).billing_closes_at = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
        dunning.sweep()
    closed = shop_client(shop).get("/")
    assert closed.status_code == 503 and "closed for the moment" in closed.text
    redirected = owner.get("/admin/products")
    assert redirected.status_code == 303 and redirected.location.endswith("/admin/billing")
    billing = owner.get("/admin/billing").text
    assert "Your shop is closed to shoppers" in billing and "Update card and pay" in billing
    assert f"{shop.name} is closed until your plan is paid" in mail(app, shop)

    # The merchant updates the card in Stripe's portal: the retry pays, all reopens.
    portal = owner.post("/admin/billing/portal")
    assert portal.status_code == 303 and portal.location.startswith(fake_stripe.url("/portal/"))
    fake_stripe.update_card(sub.stripe_customer_id)
    sub = row(app, shop)
    assert sub.status == "active" and sub.past_due_since is None
    assert closes_at(app, shop) is None
    assert shop_client(shop).get("/").status_code == 200
    assert owner.get("/admin/products").status_code == 200
    assert invoices(app, shop)[-1].status == "paid"


def test_cancel_at_period_end_then_resume_then_the_plan_ends(
    stripe_app, fake_stripe, make_tenant, staff_client, shop_client, plans
):
    app = stripe_app
    small, _ = plans
    shop, owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    subscribe_through_checkout(app, fake_stripe, owner, code_of(app, small))
    assert "Cancel your Small plan?" in owner.get("/admin/billing/cancel").text
    owner.post("/admin/billing/cancel")
    sub = row(app, shop)
    assert sub.cancel_at_period_end is True
    assert fake_stripe.subscription(sub.stripe_subscription_id)["cancel_at_period_end"] is True
    page = owner.get("/admin/billing").text
    assert "(cancelled)" in page and "Resume plan" in page

    owner.post("/admin/billing/resume")
    assert row(app, shop).cancel_at_period_end is False
    assert fake_stripe.subscription(sub.stripe_subscription_id)["cancel_at_period_end"] is False

    owner.post("/admin/billing/cancel")
    fake_stripe.wait_for_webhooks()
    fake_stripe.renew(sub.stripe_subscription_id)  # the period ends
    sub = row(app, shop)
    assert sub.status == "canceled"
    assert shop_client(shop).get("/").status_code == 503
    # Choosing a plan again reopens the shop (a new subscription through Checkout).
    subscribe_through_checkout(app, fake_stripe, owner, code_of(app, small))
    again = row(app, shop)
    assert again.status == "active" and again.stripe_subscription_id != sub.stripe_subscription_id
    assert shop_client(shop).get("/").status_code == 200


# --- deliveries: duplicates, order, staleness, forgery ---------------------------------


def test_duplicate_reordered_and_stale_deliveries_end_in_stripes_state(
    stripe_app, fake_stripe, make_tenant, staff_client, plans
):
    app = stripe_app
    small, _big = plans
    shop, owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    with fake_stripe.hold_webhooks() as held:
        session_id = None
        confirm = owner.post(
            "/admin/billing/plan", data={"plan": code_of(app, small), "interval": "month"}
        )
        session_id = confirm.location.rstrip("/").rsplit("/", 1)[-1]
        fake_stripe.pay(session_id)
    assert row(app, shop).stripe_subscription_id is None  # nothing delivered yet
    types = [e["type"] for e in held]
    assert "checkout.session.completed" in types and "customer.subscription.created" in types
    # Delivered backwards, then each one again five times at once.
    fake_stripe.release_webhooks(held, reverse=True)
    for event in held:
        outcomes = {d.json()["outcome"] for d in fake_stripe.deliver_concurrently(event, 5)}
        assert outcomes == {"duplicate"}
    sub = row(app, shop)
    assert sub.status == "active" and sub.plan_id == small
    with app.app_context():
        synced = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.tenant_id == shop.id, AuditEvent.action == "billing.subscription_synced"
            )
        ).all()
    before = len(synced)

    # A stale event (an old copy of the subscription, saying it is still trialing) as a
    # new event id: the present is refetched, nothing goes backwards.
    stale = dict(fake_stripe.subscription(sub.stripe_subscription_id), status="trialing")
    delivery = fake_stripe.send_event(
        "customer.subscription.updated", stale, created=int(time.time()) - 86400
    )
    assert delivery.status == 200
    assert row(app, shop).status == "active"
    with app.app_context():
        assert (
            len(
                db.session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.tenant_id == shop.id,
                        AuditEvent.action == "billing.subscription_synced",
                    )
                ).all()
            )
            == before
        )


def test_forged_and_stale_signatures_are_refused_and_change_nothing(
    stripe_app, fake_stripe, make_tenant, staff_client, plans
):
    app = stripe_app
    small, _big = plans
    shop, owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    subscribe_through_checkout(app, fake_stripe, owner, code_of(app, small))
    sub = row(app, shop)
    canceled = dict(fake_stripe.subscription(sub.stripe_subscription_id), status="canceled")
    event = fake_stripe.make_event("customer.subscription.deleted", canceled)
    for delivery in (
        fake_stripe.deliver(event, secret="whsec_someone_else"),
        fake_stripe.deliver(event, timestamp=int(time.time()) - 3600),
        fake_stripe.deliver(event, signature="t=1,v1=deadbeef"),
        fake_stripe.deliver(event, signature=""),
    ):
        assert delivery.status == 400
        assert delivery.json()["title"] == "Invalid Stripe webhook"
    assert row(app, shop).status == "active" and closes_at(app, shop) is None
    with app.app_context():
        from saas.models import StripeEvent

        assert db.session.get(StripeEvent, event["id"]) is None


# --- isolation --------------------------------------------------------------------------


def test_one_shops_webhooks_invoices_and_portal_never_act_on_another(
    stripe_app, fake_stripe, make_tenant, staff_client, shop_client, plans
):
    app = stripe_app
    small, _big = plans
    alpha, alpha_owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    beta, beta_owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    subscribe_through_checkout(app, fake_stripe, alpha_owner, code_of(app, small))
    subscribe_through_checkout(app, fake_stripe, beta_owner, code_of(app, small))
    a, b = row(app, alpha), row(app, beta)

    # Alpha's payment fails: only alpha goes past due.
    fake_stripe.decline_cards(a.stripe_customer_id)
    fake_stripe.renew(a.stripe_subscription_id)
    assert row(app, alpha).status == "past_due" and row(app, beta).status == "active"
    assert closes_at(app, beta) is None
    assert not any("failed" in s for s in mail(app, beta))

    # A completed checkout that names beta but carries alpha's customer changes nothing.
    forged = fake_stripe.make_event(
        "checkout.session.completed",
        {
            "id": "cs_test_forged",
            "object": "checkout.session",
            "mode": "subscription",
            "customer": a.stripe_customer_id,
            "client_reference_id": str(beta.id),
            "subscription": a.stripe_subscription_id,
            "status": "complete",
        },
    )
    assert fake_stripe.deliver(forged).status == 200
    assert row(app, beta).stripe_subscription_id == b.stripe_subscription_id
    # Beta's subscription object sent with alpha's ... no: an event about a subscription
    # whose customer is no shop's is ignored everywhere.
    stranger = dict(fake_stripe.subscription(b.stripe_subscription_id), id="sub_stranger",
                    customer="cus_nobody")  # fmt: skip
    assert fake_stripe.send_event("customer.subscription.deleted", stranger).status == 200
    assert row(app, beta).status == "active" and row(app, alpha).status == "past_due"

    # Invoices: each page lists its own only.
    a_numbers = {i.number for i in invoices(app, alpha)}
    beta_page = beta_owner.get("/admin/billing").text
    assert a_numbers and not any(n in beta_page for n in a_numbers)
    # The portal opens for the shop's own customer.
    beta_owner.post("/admin/billing/portal")
    sessions = fake_stripe.objects("billing_portal.session")
    assert sessions[-1]["customer"] == b.stripe_customer_id
    # A return URL naming alpha's checkout session does nothing for beta.
    alpha_sessions = [
        s["id"]
        for s in fake_stripe.objects("checkout.session")
        if s.get("customer") == a.stripe_customer_id
    ]
    beta_owner.get(f"/admin/billing/return?session_id={alpha_sessions[0]}")
    assert row(app, beta).stripe_subscription_id == b.stripe_subscription_id


# --- reconciliation and trials ------------------------------------------------------------


def test_nightly_reconciliation_repairs_drift_and_logs_each_repair(
    stripe_app, fake_stripe, make_tenant, staff_client, plans, caplog
):
    app = stripe_app
    small, big = plans
    shop, owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    subscribe_through_checkout(app, fake_stripe, owner, code_of(app, small))
    sub = row(app, shop)
    with app.app_context():
        from saas.billing.prices import price_id
        from saas.models import Plan

        big_price = price_id(db.session.get(Plan, big), "month")
        db.session.commit()
    # Changed in Stripe's dashboard; the webhooks never came.
    fake_stripe.mutate("subscription", sub.stripe_subscription_id, price_id=big_price)
    with app.app_context(), caplog.at_level(logging.WARNING, logger="saas.billing.reconcile"):
        report = reconcile()
    assert report.repaired >= 1 and not report.failed
    assert row(app, shop).plan_id == big
    assert any("drift repaired" in r.getMessage() and str(shop.id) in r.getMessage()
               for r in caplog.records)  # fmt: skip
    with app.app_context():
        assert db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == shop.id, AuditEvent.action == "billing.repaired"
            )
        )
        again = reconcile()
    assert again.repaired == 0


def test_trial_will_end_reminds_the_owner_once(
    stripe_app, fake_stripe, make_tenant, staff_client, plans
):
    app = stripe_app
    small, big = plans
    shop, owner = shop_and_owner(app, make_tenant, staff_client, small)
    subscribe_through_checkout(app, fake_stripe, owner, code_of(app, big))
    sub = row(app, shop)
    fake_stripe.trial_will_end(sub.stripe_subscription_id)
    fake_stripe.trial_will_end(sub.stripe_subscription_id)
    reminders = [s for s in mail(app, shop) if s.startswith("Your free trial of")]
    assert len(reminders) == 1


def test_deleting_a_shop_stops_its_stripe_billing(
    stripe_app, fake_stripe, make_tenant, staff_client, plans
):
    from saas.console.actions import schedule_after_delete, soft_delete

    app = stripe_app
    small, _ = plans
    shop, owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    other, other_owner = shop_and_owner(app, make_tenant, staff_client, small, trial=False)
    subscribe_through_checkout(app, fake_stripe, owner, code_of(app, small))
    subscribe_through_checkout(app, fake_stripe, other_owner, code_of(app, small))
    with app.app_context():
        soft_delete(db.session.get(Tenant, shop.id), "closing down", actor=("system", None, "t"))
        db.session.commit()
        schedule_after_delete(shop.id)
    make_worker(app).work(burst=True)
    fake_stripe.wait_for_webhooks()
    gone = row(app, shop)
    assert fake_stripe.subscription(gone.stripe_subscription_id)["status"] == "canceled"
    assert gone.status == "canceled"
    kept = row(app, other)
    assert fake_stripe.subscription(kept.stripe_subscription_id)["status"] == "active"
