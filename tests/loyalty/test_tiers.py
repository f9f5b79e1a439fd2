"""Member tiers: reached by spending (or points) over 12 months, recomputed when orders
are paid and refunded and nightly, announced by email; the benefits at checkout (after
the discount code) and in earning; the merchant's tiers; shops kept apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from saas.db import db
from saas.jobs import make_worker
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tenants.discounts.models import Discount
from tenants.loyalty import jobs, points, tiers
from tenants.loyalty.models import LoyaltyTier
from tenants.orders import admin
from tenants.orders.models import Order
from tests.checkout.test_checkout import add_to_cart, open_shop, through_to_review, total_on
from tests.loyalty.test_points import customer, order, pay, turn_on
from tests.loyalty.test_points_checkout import customer_with_points, signed_in


def ladder(app, shop, *specs) -> None:
    """Tiers as (name, threshold, discount %, free shipping, points %)."""
    with app.app_context(), tenant_context(shop):
        for name, threshold, discount, free, multiplier in specs:
            db.session.add(
                LoyaltyTier(
                    name=name,
                    threshold=threshold,
                    discount_percent=discount,
                    free_shipping=free,
                    points_multiplier_percent=multiplier,
                )
            )


def tier_name(app, shop, customer_id) -> str | None:
    with app.app_context(), tenant_context(shop):
        found = tiers.tier_of(customer_id)
        return found.name if found else None


def subjects(app, shop) -> list[str]:
    make_worker(app).work(burst=True)
    with app.app_context(), tenant_context(shop):
        return list(db.session.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id)))


def test_spending_moves_a_customer_up_and_a_refund_down(app, make_tenant):
    shop = make_tenant()
    turn_on(app, shop)
    ladder(app, shop, ("Silver", 100, 5, False, 100), ("Gold", 300, 10, True, 150))
    ann = customer(app, shop)
    first = order(app, shop, ann, cents=15000)  # 150.00 of items (shipping never counts)
    pay(app, shop, first)
    assert tier_name(app, shop, ann) == "Silver"
    assert next(s for s in subjects(app, shop) if "member of" in s).startswith(
        "You are now a Silver member"
    )
    second = order(app, shop, ann, cents=20000)
    pay(app, shop, second)
    assert tier_name(app, shop, ann) == "Gold"
    sent = [s for s in subjects(app, shop) if "member of" in s]
    assert len(sent) == 2 and sent[-1].startswith("You are now a Gold member")
    with app.app_context(), tenant_context(shop):
        found = db.session.get(Order, second)
        admin.refund(found, found.total_cents, "returned", staff_id=None)
    assert tier_name(app, shop, ann) == "Silver"
    assert len([s for s in subjects(app, shop) if "member of" in s]) == 2  # no email down


def test_the_nightly_pass_lets_a_year_old_order_stop_counting(app, make_tenant):
    shop = make_tenant()
    turn_on(app, shop)
    ladder(app, shop, ("Silver", 100, 5, False, 100))
    ann = customer(app, shop)
    pay(app, shop, order(app, shop, ann, cents=12000))
    assert tier_name(app, shop, ann) == "Silver"
    with app.app_context(), tenant_context(shop):
        db.session.execute(update(Order).values(placed_at=datetime.now(UTC) - timedelta(days=400)))
        counts = jobs.sweep()
        assert counts["member tier change(s)"] == 1
        assert "member tier change(s)" not in jobs.sweep()  # once a day
    assert tier_name(app, shop, ann) is None


def test_tiers_by_points_and_the_multiplier(app, make_tenant):
    shop = make_tenant()
    turn_on(app, shop, tier_basis="points", points_per_unit=1)
    ladder(app, shop, ("Double", 100, 0, False, 200))
    ann = customer(app, shop)
    pay(app, shop, order(app, shop, ann, cents=10000))  # 100 points: reaches Double
    assert tier_name(app, shop, ann) == "Double"
    pay(app, shop, order(app, shop, ann, cents=5000))  # 50 units, twice the points
    with app.app_context(), tenant_context(shop):
        assert points.account(ann).pending == 100 + 100


def test_a_members_discount_comes_after_the_code_and_ships_free(app, make_tenant, shop_client):
    shop = make_tenant()
    variant = open_shop(app, shop)  # 12.00 mugs, 4.99 shipping, VAT included
    ann, principal = customer_with_points(app, shop, 10)
    ladder(app, shop, ("Gold", 1, 10, True, 100))
    with app.app_context(), tenant_context(shop):
        db.session.add(Discount(code="SAVE10", kind="percentage", value=1000))
        tiers.recompute(ann)  # nothing spent: not yet a member
        assert tiers.tier_of(ann) is None
        points.program().tier_basis = "points"
        # the opening balance was an adjustment, not earning: still nothing
        assert tiers.recompute(ann) is None
        points.award(ann, 5, "bonus", key="bonus")
        assert tiers.recompute(ann).name == "Gold"
    client = signed_in(shop_client, shop, principal)
    add_to_cart(client, variant, 2)
    client.post("/cart/discount", data={"code": "SAVE10"})
    review = through_to_review(client)
    # 24.00 - 2.40 (code) = 21.60; -10 % of that = 2.16; shipping free
    assert "Member discount (Gold)" in review and "\N{MINUS SIGN}£2.16" in review
    assert total_on(review) == str(2400 - 240 - 216)
    assert client.post("/checkout/review", data={"total": total_on(review)}).status_code == 302
    with app.app_context(), tenant_context(shop):
        placed = db.session.scalars(select(Order)).one()
        assert (placed.tier_name, placed.tier_discount_cents, placed.shipping_cents) == (
            "Gold",
            216,
            0,
        )
        assert (placed.code_discount_cents, placed.discount_cents) == (240, 456)


def test_the_merchant_keeps_the_tiers(app, make_tenant, staff_client):
    shop = make_tenant()
    turn_on(app, shop)
    client = staff_client(shop, permissions=["customers"])
    assert "No tiers yet." in client.get("/admin/customers/points").text
    form = {"name": "Gold", "threshold": "500", "discount_percent": "10",
            "points_multiplier_percent": "150", "free_shipping": "1"}  # fmt: skip
    bad = client.post("/admin/customers/points/tiers/new", data={**form, "threshold": "0"})
    assert bad.status_code == 400 and "from 1 to 1,000,000,000" in bad.text
    assert client.post("/admin/customers/points/tiers/new", data=form).status_code == 302
    again = client.post("/admin/customers/points/tiers/new", data={**form, "name": "gold"})
    assert again.status_code == 400 and "already a tier called gold" in again.text
    page = client.get("/admin/customers/points").text
    assert "Gold" in page and "10% off every order, free shipping, 1.5 times the points" in page
    with app.app_context(), tenant_context(shop):
        gold = db.session.scalars(select(LoyaltyTier)).one().id
    edited = client.post(
        f"/admin/customers/points/tiers/{gold}", data={**form, "discount_percent": "15"}
    )
    assert edited.status_code == 302
    ask = client.get(f"/admin/customers/points/tiers/{gold}/delete")
    assert "Delete the tier Gold?" in ask.text
    client.post(f"/admin/customers/points/tiers/{gold}/delete")
    with app.app_context(), tenant_context(shop):
        assert tiers.all_tiers() == []


def test_a_tier_of_one_shop_gives_nothing_in_another(app, make_tenant, staff_client):
    a, b = make_tenant(), make_tenant()
    for shop in (a, b):
        turn_on(app, shop)
    ladder(app, a, ("Gold", 1, 50, True, 100))
    ann_a = customer(app, a)
    ann_b = customer(app, b)
    pay(app, a, order(app, a, ann_a, cents=1000))
    assert tier_name(app, a, ann_a) == "Gold"
    pay(app, b, order(app, b, ann_b, cents=1000))
    assert tier_name(app, b, ann_b) is None
    with app.app_context(), tenant_context(a):
        gold = tiers.all_tiers()[0].id
    other = staff_client(b, permissions=["customers"])
    assert other.get(f"/admin/customers/points/tiers/{gold}").status_code == 404
    assert other.post(f"/admin/customers/points/tiers/{gold}/delete").status_code == 404
    assert tier_name(app, a, ann_a) == "Gold"
