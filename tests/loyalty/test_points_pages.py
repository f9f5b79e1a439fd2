"""The programme's pages: the merchant sets the rules and sees what is owed, adjusts a
customer's points with a reason (audited), the customer reads balance, history and
rules in their account; the sweep releases held points; shops stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from saas.db import db
from saas.jobs import make_worker
from saas.models import AuditEvent
from saas.tenancy import tenant_context
from tenants.customers.models import Customer
from tenants.loyalty import jobs, points
from tenants.loyalty.models import PointsEntry
from tests.conftest import log_in_as
from tests.loyalty.test_points import customer, order, pay, state, turn_on

RULES = {
    "enabled": "1",
    "points_per_unit": "5",
    "signup_points": "100",
    "first_order_points": "0",
    "review_points": "20",
    "birthday_points": "0",
    "referral_percent": "0",
    "referral_points": "0",
    "referral_monthly_cap": "10",
    "points_per_unit_off": "100",
    "min_redeem": "200",
    "max_share_percent": "30",
    "holding_days": "10",
    "expiry_months": "12",
}


def signed_in(app, shop_client, shop, customer_id: int):
    """A storefront client of `shop`, signed in as the customer."""
    with app.app_context(), tenant_context(shop):
        principal = db.session.get(Customer, customer_id).get_id()
    client = shop_client(shop)
    log_in_as(client, principal)
    return client


def test_the_merchant_sets_the_rules_and_sees_the_liability(app, make_tenant, staff_client):
    shop = make_tenant()
    client = staff_client(shop, permissions=["customers"])
    assert "Loyalty points" in client.get("/admin/customers").text
    page = client.get("/admin/customers/points").text
    assert "The programme is off." in page and "Points to spend" in page
    wrong = client.post("/admin/customers/points", data={**RULES, "max_share_percent": "120"})
    assert wrong.status_code == 400
    assert "Enter a whole number from 1 to 100." in wrong.text and 'value="120"' in wrong.text
    with app.app_context(), tenant_context(shop):
        assert points.active_program() is None  # nothing kept
    saved = client.post("/admin/customers/points", data=RULES, follow_redirects=True)
    assert "Points programme saved." in saved.text
    with app.app_context(), tenant_context(shop):
        program = points.program()
        assert (program.enabled, program.points_per_unit, program.max_share_percent) == (
            True,
            5,
            30,
        )
        ann = customer(app, shop)
        points.adjust(ann, 1250, "gift", staff_id=None)
    assert "12.50" in client.get("/admin/customers/points").text  # 1,250 points owed
    assert (
        staff_client(shop, permissions=["orders"]).get("/admin/customers/points").status_code == 403
    )


def test_the_merchant_adjusts_a_customer_s_points_with_a_reason(app, make_tenant, staff_client):
    shop = make_tenant()
    turn_on(app, shop)
    ann = customer(app, shop)
    client = staff_client(shop, permissions=["customers"])
    page = client.get(f"/admin/customers/{ann}").text
    assert "Loyalty points" in page and "No points yet." in page
    form = {"form": "points", "points": "300", "reason": ""}
    missing = client.post(f"/admin/customers/{ann}", data=form)
    assert (
        missing.status_code == 400 and "Say why" in missing.text and 'value="300"' in missing.text
    )
    done = client.post(
        f"/admin/customers/{ann}", data={**form, "reason": "late parcel"}, follow_redirects=True
    )
    assert "now has 300 to spend" in done.text and "late parcel" in done.text
    over = client.post(f"/admin/customers/{ann}", data={**form, "points": "-400", "reason": "x"})
    assert over.status_code == 400 and "only 300 spendable points" in over.text
    junk = client.post(f"/admin/customers/{ann}", data={**form, "points": "1e3", "reason": "x"})
    assert junk.status_code == 400 and "whole number of points" in junk.text
    assert state(app, shop, ann) == (300, 0)
    with app.app_context():
        audited = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.tenant_id == shop.id, AuditEvent.action == "loyalty.adjusted"
            )
        ).all()
        assert [(e.detail["points"], e.reason) for e in audited] == [(300, "late parcel")]


def test_the_customer_reads_points_history_and_rules(app, make_tenant, shop_client):
    shop = make_tenant()
    ann = customer(app, shop)
    client = signed_in(app, shop_client, shop, ann)
    assert client.get("/account/points").status_code == 404  # no programme
    assert ">Points</a>" not in client.get("/account").text
    turn_on(app, shop, points_per_unit=2, holding_days=14, expiry_months=6)
    assert ">Points</a>" in client.get("/account").text
    empty = client.get("/account/points")
    assert empty.headers["Cache-Control"] == "private, no-store"
    assert "No points yet." in empty.text and "Points expire after 6 months" in empty.text
    pay(app, shop, order(app, shop, ann, cents=2500))
    with app.app_context(), tenant_context(shop):
        points.adjust(ann, 40, "sorry for the wait", staff_id=None)
    page = client.get("/account/points").text
    assert "On hold" in page and "+50" in page and "(on hold until" in page
    assert "+40" in page and "sorry for the wait" in page
    assert "You earn 2 points for every" in page


def test_the_sweep_makes_held_points_spendable(app, make_tenant):
    shop = make_tenant()
    turn_on(app, shop, holding_days=14)
    ann = customer(app, shop)
    pay(app, shop, order(app, shop, ann, cents=3000))
    with app.app_context(), tenant_context(shop):  # the holding period passes
        db.session.execute(
            update(PointsEntry).values(available_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    result = app.test_cli_runner().invoke(args=["tenants", "sweep"], catch_exceptions=False)
    assert "points line(s) made spendable" in result.output
    assert state(app, shop, ann) == (30, 0)


def test_a_customer_of_another_shop_is_not_found(app, make_tenant, staff_client):
    a, b = make_tenant(), make_tenant()
    turn_on(app, a)
    ann = customer(app, a)
    with app.app_context(), tenant_context(a):
        points.adjust(ann, 100, "gift", staff_id=None)
    other = staff_client(b, permissions=["customers"])
    # shop B has no customer with that id: its page and its form are not found
    assert other.get(f"/admin/customers/{ann}").status_code == 404
    refused = other.post(
        f"/admin/customers/{ann}", data={"form": "points", "points": "5", "reason": "x"}
    )
    assert refused.status_code == 404
    assert state(app, a, ann) == (100, 0)
    with app.app_context(), tenant_context(b):
        assert points.liability().balance == 0


def test_a_birthday_given_in_the_account_brings_its_points_once_a_year(
    app, make_tenant, shop_client
):
    shop = make_tenant()
    ann = customer(app, shop)
    client = signed_in(app, shop_client, shop, ann)
    assert 'name="birthday"' not in client.get("/account/settings").text  # no bonus offered
    turn_on(app, shop, birthday_points=150)
    assert "you get 150 points" in client.get("/account/settings").text
    details = {"form": "details", "name": "Ann Lee"}
    wrong = client.post("/account/settings", data={**details, "birthday": "1990-02-30"})
    assert wrong.status_code == 400 and "like 1990-04-23" in wrong.text
    later = client.post("/account/settings", data={**details, "birthday": "2999-01-01"})
    assert later.status_code == 400 and "between 1900 and today" in later.text
    saved = client.post("/account/settings", data={**details, "birthday": "1992-02-29"})
    assert saved.status_code == 302
    with app.app_context(), tenant_context(shop):
        assert db.session.get(Customer, ann).birthday.isoformat() == "1992-02-29"
        assert jobs.sweep(datetime(2027, 2, 27, 12, tzinfo=UTC))["birthday bonus(es) given"] == 0
        # not a leap year: the 28th
        assert jobs.sweep(datetime(2027, 2, 28, 12, tzinfo=UTC))["birthday bonus(es) given"] == 1
        assert jobs.sweep(datetime(2027, 2, 28, 18, tzinfo=UTC))["birthday bonus(es) given"] == 0
        assert jobs.sweep(datetime(2028, 2, 29, 12, tzinfo=UTC))["birthday bonus(es) given"] == 1
    assert state(app, shop, ann) == (300, 0)


def test_the_ledger_exports_as_csv_by_a_job(app, make_tenant, staff_client):
    shop = make_tenant()
    turn_on(app, shop)
    ann = customer(app, shop)
    with app.app_context(), tenant_context(shop):
        points.adjust(ann, 120, '=HYPERLINK("x")', staff_id=None)
    client = staff_client(shop, permissions=["customers"])
    page = client.get("/admin/customers/points").text
    assert "Export all 1 points line as CSV" in page
    started = client.post("/admin/points/export")
    assert started.status_code == 303
    make_worker(app).work(burst=True)
    run_page = client.get(started.location).text
    assert "Back to points lines" in run_page
    download = client.get(started.location + "/download")
    text = download.get_data(as_text=True)
    assert text.splitlines()[0].startswith("Date,Customer,Email,Kind,What,Points")
    assert "ann@example.com,adjust,Adjusted by the shop,120" in text
    assert "'=HYPERLINK" in text  # a formula is never run by a spreadsheet
    other = staff_client(shop, permissions=["orders"])
    assert other.get(started.location + "/download").status_code == 403
