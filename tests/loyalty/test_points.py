"""The points ledger: earning on payment, the holding period, taking back on refunds and
cancellations, spending under concurrency, adjustments, expiry, and shops kept apart.

The clock is the tests': every service that reads the time takes `now`."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.products import create_product
from tenants.customers.models import Customer
from tenants.loyalty import points
from tenants.loyalty.models import PointsAccount, PointsEntry
from tenants.orders import admin
from tenants.orders.models import Order
from tenants.orders.placement import LineInput, OrderInput, place_order

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def turn_on(app, shop, **rules) -> None:
    with app.app_context(), tenant_context(shop):
        program = points.program()
        program.enabled = True
        for name, value in rules.items():
            setattr(program, name, value)


def customer(app, shop, email="ann@example.com") -> int:
    with app.app_context(), tenant_context(shop):
        row = Customer(email=email, name="Ann Lee", password_hash="x", tags=[])
        db.session.add(row)
        db.session.flush()
        return row.id


def order(app, shop, customer_id: int | None, *, cents: int = 5000) -> int:
    """A placed, unpaid order of one line costing `cents`; its id."""
    with app.app_context(), tenant_context(shop):
        product = create_product(f"Lamp {uuid.uuid4().hex[:4]}", cents, inventory_quantity=50)
        db.session.flush()
        placed = place_order(
            OrderInput(
                idempotency_key=uuid.uuid4().hex,
                email="ann@example.com",
                currency="USD",
                lines=[LineInput(product.variants[0].id, product.id, product.title, 1, cents)],
                payment_method="bank_transfer",
                subtotal_cents=cents,
                shipping_cents=700,
                total_cents=cents + 700,
                customer_id=customer_id,
            )
        )
        return placed.order.id


def pay(app, shop, order_id: int) -> None:
    with app.app_context(), tenant_context(shop):
        admin.mark_paid(db.session.get(Order, order_id), staff_id=None)


def state(app, shop, customer_id: int) -> tuple[int, int]:
    """(balance, pending), checked against the ledger's own sums."""
    with app.app_context(), tenant_context(shop):
        found = db.session.get(PointsAccount, customer_id)
        spendable, held = db.session.execute(
            select(
                func.coalesce(func.sum(PointsEntry.points).filter(~PointsEntry.held), 0),
                func.coalesce(func.sum(PointsEntry.points).filter(PointsEntry.held), 0),
            ).where(PointsEntry.customer_id == customer_id)
        ).one()
        if found is None:
            assert (spendable, held) == (0, 0)
            return 0, 0
        assert (found.balance, found.pending) == (spendable, held)
        return found.balance, found.pending


def release(app, shop, now: datetime) -> int:
    with app.app_context(), tenant_context(shop):
        return points.release_due(now=now)


def test_points_are_earned_when_paid_and_spendable_after_the_holding_period(app, make_tenant):
    shop = make_tenant()
    turn_on(app, shop, points_per_unit=2, holding_days=14)
    ann = customer(app, shop)
    first = order(app, shop, ann, cents=5050)  # 50.50 of goods, shipping not counted
    assert state(app, shop, ann) == (0, 0)  # placed is not paid
    pay(app, shop, first)
    assert state(app, shop, ann) == (0, 101)
    with app.app_context(), tenant_context(shop):
        timeline = [e.message for e in db.session.get(Order, first).events]
    assert "Loyalty points: 101 points earned (held for the holding period)." in timeline
    assert release(app, shop, datetime.now(UTC) + timedelta(days=13)) == 0
    assert release(app, shop, datetime.now(UTC) + timedelta(days=15)) == 1
    assert state(app, shop, ann) == (101, 0)
    pay_again = order(app, shop, ann)
    pay(app, shop, pay_again)
    with app.app_context(), tenant_context(shop):  # a webhook delivered twice pays once
        points.earn_for_order(db.session.get(Order, pay_again))
    assert state(app, shop, ann) == (101, 100)


def test_no_programme_and_guests_earn_nothing(app, make_tenant):
    shop = make_tenant()
    ann = customer(app, shop)
    pay(app, shop, order(app, shop, ann))
    assert state(app, shop, ann) == (0, 0)
    turn_on(app, shop)
    guest = order(app, shop, None)
    pay(app, shop, guest)
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 0


def test_bonuses_come_once(app, make_tenant, shop_client):
    shop = make_tenant()
    turn_on(app, shop, first_order_points=250, signup_points=100, points_per_unit=1)
    phrase = "a long pass phrase"
    registered = shop_client(shop).post(
        "/account/register", data={"email": "bo@example.com", "password": phrase, "confirm": phrase}
    )
    assert registered.status_code == 302
    with app.app_context(), tenant_context(shop):
        bo = db.session.scalar(select(Customer.id).where(Customer.email == "bo@example.com"))
    assert state(app, shop, bo) == (100, 0)
    pay(app, shop, order(app, shop, bo, cents=1000))
    pay(app, shop, order(app, shop, bo, cents=1000))
    assert state(app, shop, bo) == (100, 10 + 250 + 10)


def test_a_refund_takes_back_its_share_and_a_cancellation_all(app, make_tenant):
    shop = make_tenant()
    turn_on(app, shop, points_per_unit=1)
    ann = customer(app, shop)
    paid = order(app, shop, ann, cents=9300)  # total 100.00 with shipping: earns 93
    pay(app, shop, paid)
    with app.app_context(), tenant_context(shop):
        admin.refund(db.session.get(Order, paid), 5000, "half", staff_id=None)
        assert db.session.get(Order, paid).events[-1].message == (
            "Loyalty points: 47 points taken back."
        )
    assert state(app, shop, ann) == (0, 93 - 47)  # ceil(93 * 50 / 100): held lines net out
    with app.app_context(), tenant_context(shop):
        admin.refund(db.session.get(Order, paid), 5000, "the rest", staff_id=None)
    assert state(app, shop, ann) == (0, 0)
    release(app, shop, datetime.now(UTC) + timedelta(days=30))
    assert state(app, shop, ann) == (0, 0)

    second = order(app, shop, ann, cents=4000)
    pay(app, shop, second)
    release(app, shop, datetime.now(UTC) + timedelta(days=30))
    assert state(app, shop, ann) == (40, 0)
    with app.app_context(), tenant_context(shop):
        points.redeem(ann, 30, db.session.get(Order, order(app, shop, ann)))
    assert state(app, shop, ann) == (10, 0)
    with app.app_context(), tenant_context(shop):  # spent points are not clawed below zero
        admin.cancel(
            db.session.get(Order, second),
            reason="changed mind",
            restock=True,
            refund_payment=True,
            staff_id=None,
        )
        forgiven = db.session.scalars(
            select(PointsEntry.reason).where(PointsEntry.order_id == second, PointsEntry.points < 0)
        ).all()
    assert state(app, shop, ann) == (0, 0)
    assert forgiven == ["30 points already spent were not taken back"]
    # what was forgiven stays settled: earning again, then settling again, takes nothing
    with app.app_context(), tenant_context(shop):
        points.adjust(ann, 25, "gift", staff_id=None)
        points.settle_order(db.session.get(Order, second))
    assert state(app, shop, ann) == (25, 0)


def test_a_cancelled_order_gives_its_spent_points_back(app, make_tenant):
    shop = make_tenant()
    turn_on(app, shop)
    ann = customer(app, shop)
    with app.app_context(), tenant_context(shop):
        points.adjust(ann, 500, "welcome gift", staff_id=None)
    spent_on = order(app, shop, ann)
    with app.app_context(), tenant_context(shop):
        assert points.redeem(ann, 300, db.session.get(Order, spent_on))
    assert state(app, shop, ann) == (200, 0)
    for _ in range(2):  # a second cancellation notice gives nothing more
        with app.app_context(), tenant_context(shop):
            found = db.session.get(Order, spent_on)
            if found.cancelled_at is None:
                admin.cancel(found, reason="", restock=True, refund_payment=False, staff_id=None)
            else:
                points.settle_order(found)
    assert state(app, shop, ann) == (500, 0)


def test_twenty_concurrent_spends_of_the_same_points(app, make_tenant):
    """Each of 20 checkouts of one customer tries to spend 100 of 500 points at once:
    five win, the rest find the balance short, and it never goes below zero."""
    shop = make_tenant()
    turn_on(app, shop)
    ann = customer(app, shop)
    with app.app_context(), tenant_context(shop):
        points.adjust(ann, 500, "start", staff_id=None)
    orders = [order(app, shop, ann) for _ in range(20)]
    start = threading.Barrier(20)
    results: list[bool] = []

    def spend(order_id: int) -> None:
        start.wait()  # before taking a connection: the pool may hold fewer than 20
        with app.app_context(), tenant_context(shop):
            results.append(points.redeem(ann, 100, db.session.get(Order, order_id)))

    threads = [threading.Thread(target=spend, args=(o,)) for o in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True] * 5
    assert state(app, shop, ann) == (0, 0)
    with app.app_context(), tenant_context(shop):
        spent = db.session.scalars(
            select(PointsEntry.points).where(PointsEntry.kind == "redeem")
        ).all()
    assert spent == [-100] * 5


def test_adjustments_need_a_reason_and_cannot_overdraw(app, make_tenant):
    shop = make_tenant()
    ann = customer(app, shop)
    with app.app_context(), tenant_context(shop):
        with pytest.raises(points.PointsError, match="Say why"):
            points.adjust(ann, 50, "  ", staff_id=None)
        points.adjust(ann, 50, "apology for a late parcel", staff_id=None)
        with pytest.raises(points.PointsError, match="only 50 spendable points"):
            points.adjust(ann, -60, "typo", staff_id=None)
        points.adjust(ann, -50, "typo", staff_id=None)
    assert state(app, shop, ann) == (0, 0)


def test_points_expire_after_months_without_activity(app, make_tenant):
    shop = make_tenant()
    turn_on(app, shop, expiry_months=6)
    ann, bo = customer(app, shop), customer(app, shop, "bo@example.com")
    with app.app_context(), tenant_context(shop):
        points._add(ann, points.EntryKind.ADJUST, 80, "gift", now=NOW - timedelta(days=200))
        points._add(bo, points.EntryKind.ADJUST, 80, "gift", now=NOW - timedelta(days=100))
        assert points.expire_inactive(now=NOW) == 1
        assert points.expire_inactive(now=NOW) == 0
    assert state(app, shop, ann) == (0, 0)
    assert state(app, shop, bo) == (80, 0)


def test_months_before_keeps_the_day_within_the_month():
    assert points.months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(
        2026, 2, 28, tzinfo=UTC
    )
    assert points.months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(
        2024, 12, 15, tzinfo=UTC
    )


def test_one_shop_s_points_never_reach_another(app, make_tenant):
    """The same customer id in two shops: earning, spending and the liability of one
    never touch the other's ledger."""
    a, b = make_tenant(), make_tenant()
    for shop in (a, b):
        turn_on(app, shop)
    ann_a, ann_b = customer(app, a), customer(app, b)
    pay(app, a, order(app, a, ann_a, cents=7000))
    release(app, a, datetime.now(UTC) + timedelta(days=30))
    assert state(app, a, ann_a) == (70, 0)
    assert state(app, b, ann_b) == (0, 0)
    with app.app_context(), tenant_context(b):
        assert points.liability().balance == 0
        assert not points.redeem(ann_b, 10, db.session.get(Order, order(app, b, ann_b)))
    with app.app_context(), tenant_context(a):
        assert points.liability().balance == 70
