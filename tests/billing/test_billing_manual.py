"""Billing with no Stripe keys (the demo, or invoices paid by transfer): plans, trials,
limits, dunning and closing all work; the pages say payments are not configured."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from saas.billing import dunning
from saas.billing.manual import record_payment
from saas.db import db
from saas.jobs import make_worker
from saas.models import Subscription, Tenant
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tests.factories import make_plan, subscribe
from tests.shop.test_page_cache import flask_calls

OPERATOR = ("operator", None, "ops@example.com")


def shop_on(app, make_tenant, staff_client, plan_id, **tenant):
    shop = make_tenant(owner_email=f"owner-{time.time_ns()}@example.com", **tenant)
    subscribe(app, shop, plan_id)
    return shop, staff_client(shop, role="owner")


def sub_of(app, shop) -> Subscription:
    with app.app_context():
        found = db.session.scalar(select(Subscription).where(Subscription.tenant_id == shop.id))
        db.session.expunge(found)
        return found


def subjects(app, shop) -> list[str]:
    make_worker(app).work(burst=True)
    with app.app_context(), tenant_context(shop):
        return list(db.session.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id)))


def set_subscription(app, shop, **values) -> None:
    with app.app_context():
        db.session.execute(
            update(Subscription).where(Subscription.tenant_id == shop.id).values(**values)
        )
        db.session.commit()


def test_the_page_says_payments_are_not_configured_and_a_plan_switches_at_once(
    app, make_tenant, staff_client
):
    small = make_plan(app, None, name="Small", price_cents=1000)
    big = make_plan(app, None, name="Big", price_cents=3000, yearly_price_cents=30000)
    shop, owner = shop_on(app, make_tenant, staff_client, small)
    page = owner.get("/admin/billing").text
    assert "Online payments for plans are not configured" in page
    assert "Free trial" in page and "Trial ends" in page
    with app.app_context():
        from saas.models import Plan

        code = db.session.get(Plan, big).code
    confirm = owner.get(f"/admin/billing/plan?plan={code}&interval=year").text
    assert "Switch to Big (yearly)?" in confirm and "Payments are arranged" in confirm
    done = owner.post("/admin/billing/plan", data={"plan": code, "interval": "year"})
    assert done.status_code == 303
    sub = sub_of(app, shop)
    assert sub.plan_id == big and sub.interval == "year" and sub.status == "trialing"
    assert "You are now on the Big plan." in owner.get("/admin/billing").text
    # An unknown plan or interval is refused cleanly.
    assert owner.get("/admin/billing/plan?plan=nope&interval=month").status_code == 404
    assert owner.get(f"/admin/billing/plan?plan={code}&interval=week").status_code == 400


def test_staff_without_the_billing_area_cannot_change_the_plan(app, make_tenant, staff_client):
    small = make_plan(app, None, name="Small", price_cents=1000)
    shop, _ = shop_on(app, make_tenant, staff_client, small)
    clerk = staff_client(shop, role="staff", permissions=["orders"])
    assert clerk.get("/admin/billing").status_code == 403
    assert clerk.post("/admin/billing/cancel").status_code == 403


def test_an_unpaid_trial_runs_the_dunning_clock_to_closure_and_a_payment_reopens(
    app, make_tenant, staff_client, shop_client
):
    small = make_plan(app, None, name="Small", price_cents=1000)
    shop, owner = shop_on(app, make_tenant, staff_client, small)
    ends = datetime.now(UTC) + timedelta(days=2)
    set_subscription(app, shop, trial_ends_at=ends)

    with app.app_context():
        dunning.sweep()  # within three days of the end: one reminder
        dunning.sweep()
    assert subjects(app, shop).count(f"Your free trial of {shop.name} ends on {ends:%d %B %Y}") == 1

    with app.app_context():
        report = dunning.sweep(at=ends + timedelta(minutes=1))
    assert report.trials_ended >= 1
    sub = sub_of(app, shop)
    assert sub.status == "past_due" and sub.past_due_since == ends
    with app.app_context():
        closing = db.session.get(Tenant, shop.id).billing_closes_at
    assert closing == ends + timedelta(days=14)
    assert f"Your free trial of {shop.name} has ended" in subjects(app, shop)
    assert shop_client(shop).get("/").status_code == 200  # still selling in the grace period

    with app.app_context():
        dunning.sweep(at=ends + timedelta(days=7, hours=1))  # days 3 and 7 are both due
    assert subjects(app, shop).count(f"Reminder: the payment for {shop.name} is overdue") == 1

    with app.app_context():
        # Through the ORM, as the app does: its commit refreshes the host cache.
        db.session.get(Tenant, shop.id).billing_closes_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    assert shop_client(shop).get("/").status_code == 503
    assert owner.get("/admin/orders").status_code == 303

    with app.app_context():
        record_payment(db.session.get(Tenant, shop.id), 1, "transfer 42", actor=OPERATOR)
        db.session.commit()
    sub = sub_of(app, shop)
    assert sub.status == "active" and sub.past_due_since is None and sub.trial_ends_at is None
    assert sub.current_period_end > datetime.now(UTC) + timedelta(days=27)
    assert shop_client(shop).get("/").status_code == 200
    assert owner.get("/admin/orders").status_code == 200
    page = owner.get("/admin/billing").text
    assert "Active" in page and "recorded by hand" in page and "$10.00" in page


def test_a_manual_plan_cancelled_at_period_end_ends_and_closes(
    app, make_tenant, staff_client, shop_client
):
    small = make_plan(app, None, name="Small", price_cents=1000, trial_days=0)
    shop, owner = shop_on(app, make_tenant, staff_client, small)
    with app.app_context():
        record_payment(db.session.get(Tenant, shop.id), 1, "paid ahead", actor=OPERATOR)
        db.session.commit()
    owner.post("/admin/billing/cancel")
    assert sub_of(app, shop).cancel_at_period_end
    end = sub_of(app, shop).current_period_end
    with app.app_context():
        dunning.sweep(at=end - timedelta(days=1))
    assert sub_of(app, shop).status == "active"
    with app.app_context():
        report = dunning.sweep(at=end + timedelta(minutes=1))
    assert report.plans_ended >= 1 and sub_of(app, shop).status == "canceled"
    with app.app_context():
        # Through the ORM, as the app does: its commit refreshes the host cache.
        db.session.get(Tenant, shop.id).billing_closes_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    assert shop_client(shop).get("/").status_code == 503
    assert "because your plan has ended" in owner.get("/admin/billing").text


def test_a_shop_closes_the_moment_its_grace_period_ends(
    app, make_tenant, staff_client, shop_client
):
    small = make_plan(app, None, name="Small", price_cents=1000)
    shop, _ = shop_on(app, make_tenant, staff_client, small, products=[("Teapot", 1500)])
    soon = datetime.now(UTC) + timedelta(seconds=2)
    with app.app_context():
        db.session.execute(
            update(Tenant).where(Tenant.id == shop.id).values(billing_closes_at=soon)
        )
        db.session.commit()
    client = shop_client(shop)
    assert client.get("/").status_code == 200
    with flask_calls(app) as calls:
        assert client.get("/").status_code == 200
    # A shop with a closing time skips the front cache: Flask's check closes it on time.
    assert calls == ["/"]
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    closed = shop_client(shop).get("/")
    assert closed.status_code == 503 and "closed for the moment" in closed.text


def test_closing_one_shop_leaves_another_open(app, make_tenant, staff_client, shop_client):
    small = make_plan(app, None, name="Small", price_cents=1000)
    closed, _ = shop_on(app, make_tenant, staff_client, small)
    other, other_owner = shop_on(app, make_tenant, staff_client, small)
    with app.app_context():
        # Through the ORM, as the app does: its commit refreshes the host cache.
        db.session.get(Tenant, closed.id).billing_closes_at = datetime.now(UTC) - timedelta(
            seconds=1
        )
        db.session.commit()
        dunning.sweep()
    assert shop_client(closed).get("/").status_code == 503
    assert shop_client(other).get("/").status_code == 200
    assert "overdue" not in other_owner.get("/admin/products").text
    assert not any("closed" in s for s in subjects(app, other))


def test_a_downgrade_below_current_use_is_refused_with_what_to_change(
    app, make_tenant, staff_client
):
    roomy = make_plan(app, None, name="Roomy", price_cents=3000)
    snug = make_plan(app, 1, name="Snug", price_cents=500)
    shop, owner = shop_on(
        app, make_tenant, staff_client, roomy, products=[("Mug", 900), ("Bowl", 1200)]
    )
    with app.app_context():
        from saas.models import Plan

        code = db.session.get(Plan, snug).code
    refused = owner.post("/admin/billing/plan", data={"plan": code, "interval": "month"})
    assert refused.status_code == 303
    page = owner.get("/admin/billing").text
    assert "Your shop uses more than the Snug plan allows" in page and "product" in page
    assert sub_of(app, shop).plan_id == roomy


def test_two_clicks_at_once_change_the_plan_once(app, make_tenant, staff_client):
    import threading

    small = make_plan(app, None, name="Small", price_cents=1000)
    big = make_plan(app, None, name="Big", price_cents=3000)
    shop, owner = shop_on(app, make_tenant, staff_client, small)
    second = staff_client(shop, role="owner")
    with app.app_context():
        from saas.models import AuditEvent, Plan

        code = db.session.get(Plan, big).code
    barrier = threading.Barrier(2)

    def click(client):
        barrier.wait()
        client.post("/admin/billing/plan", data={"plan": code, "interval": "month"})

    threads = [threading.Thread(target=click, args=(c,)) for c in (owner, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sub_of(app, shop).plan_id == big
    with app.app_context():
        changes = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.tenant_id == shop.id, AuditEvent.action == "billing.plan_changed"
            )
        ).all()
    assert len(changes) == 1
    pages = owner.get("/admin/billing").text + second.get("/admin/billing").text
    assert "You are already on the Big plan." in pages
