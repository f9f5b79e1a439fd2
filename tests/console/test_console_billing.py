"""The operator's view of billing: MRR, churn and subscription figures, the billing page,
failed payments, a shop's billing history and recording a payment by hand.

Every test shares the run's database, so figures over the whole platform are checked as
differences (before and after the test's own rows), and per-currency figures use a
currency no other test uses.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import false, func, select

from saas.billing import metrics
from saas.billing.metrics import Amount, Churn, RevenueChurn
from saas.db import db
from saas.models import (
    AuditEvent,
    BillingInterval,
    Invoice,
    InvoiceStatus,
    Subscription,
    SubscriptionStatus,
    Tenant,
    TenantStatus,
)
from saas.paging import Page
from tests.billing_factories import (
    add_event,
    add_invoice,
    bare_shop,
    billed_shop,
    billing_plan,
    forget_bare_shops,
    fresh_currency,
    set_shop,
    subscribe,
)
from tests.console.test_console import as_operator

ACTIVE = SubscriptionStatus.ACTIVE
PAST_DUE = SubscriptionStatus.PAST_DUE
TRIALING = SubscriptionStatus.TRIALING
CANCELED = SubscriptionStatus.CANCELED
YEAR = BillingInterval.YEAR


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module", autouse=True)
def _no_bare_shops_left(app):
    yield
    forget_bare_shops(app)


@pytest.fixture
def operator(make_operator):
    return make_operator()


@pytest.fixture
def console(console_client, operator):
    console_client.environ_base["REMOTE_ADDR"] = "198.51.100.41"
    return as_operator(console_client, operator)


def figures(app, fn, *args, **kwargs):
    with app.app_context():
        return fn(*args, **kwargs)


def subscription_row(app, tenant_id) -> Subscription | None:
    with app.app_context():
        row = db.session.scalar(select(Subscription).where(Subscription.tenant_id == tenant_id))
        if row is not None:
            db.session.expunge(row)
        return row


def shop_row(app, tenant_id) -> Tenant:
    with app.app_context():
        row = db.session.get(Tenant, tenant_id)
        db.session.expunge(row)
        return row


def invoices_of(app, tenant_id) -> list[Invoice]:
    with app.app_context():
        rows = db.session.scalars(
            select(Invoice).where(Invoice.tenant_id == tenant_id).order_by(Invoice.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def actions_of(app, tenant_id) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.tenant_id == tenant_id)
                .order_by(AuditEvent.id)
            )
        )


def starter_id(app) -> int:
    """A plan of this test's own at 9.00 a month (other tests edit the seeded plans)."""
    return billing_plan(app, 900, name="Manual Starter")


def section(html: str, heading_id: str) -> str:
    """The markup from the heading with this id to the end of its section."""
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


# --- metrics --------------------------------------------------------------------------


def test_mrr_counts_paying_subscriptions_per_currency(app):
    cur, other = fresh_currency(), fresh_currency()
    monthly = billing_plan(app, 900, currency=cur)
    bigger = billing_plan(app, 2900, currency=cur)
    # 1002 a year: 83.5 a month. Two of them are 2004 / 12 = 167 (rounded once, not
    # 84 + 84 = 168 rounded each).
    yearly = billing_plan(app, 100, yearly_price_cents=1002, currency=cur)
    pricey = billing_plan(app, 7000, yearly_price_cents=70000, currency=cur)
    billed_shop(app, monthly)  # 900
    owing = billed_shop(app, bigger, status=PAST_DUE, past_due_since=now())  # 2900: owed
    add_invoice(app, owing, InvoiceStatus.PAID, 2900)  # it paid before: lost revenue if it goes
    billed_shop(app, bigger, status=PAST_DUE, past_due_since=now())  # a lapsed trial: never paid
    billed_shop(app, monthly, cancel_at_period_end=True)  # 900: paid until it ends
    billed_shop(app, yearly, interval=YEAR)
    billed_shop(app, yearly, interval=YEAR)
    billed_shop(app, pricey, status=TRIALING)  # trials count for nothing
    billed_shop(app, pricey, status=CANCELED, canceled_at=now())
    gone = billed_shop(app, pricey, interval=YEAR)
    set_shop(app, gone, status=TenantStatus.DELETED)  # a deleted shop pays nothing

    # Another currency is never added in: 1000 + 18 / 12 = 1.5, rounded half up to 2.
    billed_shop(app, billing_plan(app, 1000, currency=other))
    billed_shop(app, billing_plan(app, 5, yearly_price_cents=18, currency=other), interval=YEAR)

    by_currency = {a.currency: a for a in figures(app, metrics.mrr)}
    assert by_currency[cur] == Amount(cur, 900 + 2900 + 900 + 167)
    assert by_currency[other] == Amount(other, 1002)
    assert str(Amount("usd", 123456)) == "$1,234.56"


def test_subscription_counts_by_status_and_closed(app):
    before = figures(app, metrics.subscription_counts)
    plan = billing_plan(app)
    billed_shop(app, plan, status=TRIALING)
    billed_shop(app, plan)
    billed_shop(app, plan)
    billed_shop(app, plan, status=PAST_DUE, closes_at=now() + timedelta(days=3))
    billed_shop(app, plan, status=PAST_DUE, closes_at=now() - timedelta(days=1))  # closed
    billed_shop(app, plan, status=CANCELED, canceled_at=now(), closes_at=now())  # closed
    set_shop(app, billed_shop(app, plan), status=TenantStatus.DELETED)  # not counted
    after = figures(app, metrics.subscription_counts)
    assert set(after) == {"trialing", "active", "past_due", "canceled", "closed"}
    delta = {key: after[key] - before[key] for key in after}
    assert delta == {"trialing": 1, "active": 2, "past_due": 2, "canceled": 1, "closed": 2}


def test_churn_counts_cancellations_in_the_window(app):
    at = now()
    before = figures(app, metrics.churn, 30, now=at)
    cur = fresh_currency()
    plan = billing_plan(app, 1000, currency=cur)
    for _ in range(3):
        billed_shop(app, plan)  # paying
    for days_ago in (1, 29):
        billed_shop(app, plan, status=CANCELED, canceled_at=at - timedelta(days=days_ago))
    billed_shop(app, plan, status=CANCELED, canceled_at=at - timedelta(days=31))  # before
    billed_shop(app, plan, status=TRIALING)  # never paying: in neither figure
    after = figures(app, metrics.churn, 30, now=at)
    assert after.days == 30
    assert after.canceled - before.canceled == 2
    assert after.base - before.base == 5  # paying now + canceled in the window
    revenue = {r.currency: r for r in after.revenue}[cur]
    assert (revenue.lost_cents, revenue.base_cents) == (2000, 5000)
    assert revenue.rate == Decimal("0.4") and revenue.lost == Amount(cur, 2000)
    # A shorter window holds only yesterday's cancellation.
    recent = {r.currency: r for r in figures(app, metrics.churn, 7, now=at).revenue}[cur]
    assert (recent.lost_cents, recent.base_cents) == (1000, 4000)


def test_churn_rate_arithmetic():
    assert Churn(days=30, canceled=1, base=8).rate == Decimal("0.125")
    assert Churn(days=30, canceled=2, base=3).rate == Decimal("0.6667")  # half up
    assert Churn(days=30, canceled=0, base=0).rate is None  # nobody was paying
    assert RevenueChurn("usd", 0, 0).rate is None
    assert metrics.percent(Decimal("0.125")) == "12.5 %"
    assert metrics.percent(Decimal("0.25")) == "25 %"
    assert metrics.percent(Decimal("0.6667")) == "66.7 %"
    assert metrics.percent(None) == "—"


def test_failed_payments_are_open_invoices_with_a_failed_attempt(app):
    plan = billing_plan(app)
    closes = now() + timedelta(days=9)
    shop = billed_shop(app, plan, name="Failing Fern", status=PAST_DUE, closes_at=closes)
    later = now() + timedelta(hours=2)  # newer than any other test's invoice
    failed = add_invoice(
        app, shop, attempt_count=2, issued_at=later, number="FF-2", next_attempt_at=later
    )
    older = add_invoice(app, shop, attempt_count=1, issued_at=later - timedelta(minutes=1))
    add_invoice(app, shop, attempt_count=0, issued_at=later)  # not tried yet
    add_invoice(app, shop, InvoiceStatus.PAID, attempt_count=1, issued_at=later)
    add_invoice(app, shop, InvoiceStatus.VOID, attempt_count=3, issued_at=later)
    gone = billed_shop(app, plan, status=PAST_DUE)
    add_invoice(app, gone, attempt_count=1, issued_at=later)
    set_shop(app, gone, status=TenantStatus.DELETED)

    with app.test_request_context("/"):
        page = metrics.failed_payments(1, per_page=50)
        mine = [row for row in page.items if row.tenant_id in (shop, gone)]
        assert [row.invoice.id for row in mine] == [failed, older]
        first = mine[0]
        assert (first.slug, first.name, first.closes_at) == (
            shop_row(app, shop).slug,
            "Failing Fern",
            closes,
        )
        assert first.amount == Amount("usd", 900) and first.invoice.attempt_count == 2


def test_failed_payments_paginate_on_their_own(app, console):
    shop = billed_shop(app, billing_plan(app), name="Many Misses", status=PAST_DUE)
    start = now() + timedelta(days=1)  # newest of the run
    for i in range(12):
        add_invoice(
            app, shop, attempt_count=1, number=f"MM-{i:02d}", issued_at=start + timedelta(i)
        )
    first = console.get("/billing?status=past_due").text
    failed = section(first, "failed-h")
    assert "MM-11" in failed and "MM-02" in failed and "MM-01" not in failed
    link = re.search(r'href="([^"]+)" rel="next"', failed).group(1).replace("&amp;", "&")
    assert "failed_page=2" in link and "status=past_due" in link  # keeps the filter
    second = section(console.get(link).text, "failed-h")
    assert "MM-01" in second and "MM-00" in second and "MM-02" not in second
    assert 'rel="prev"' in second


def test_billing_history_merges_invoices_and_events_newest_first(app):
    plan = billing_plan(app)
    shop = billed_shop(app, plan)
    other = billed_shop(app, plan)
    t0 = now() - timedelta(days=10)
    first = add_invoice(app, shop, InvoiceStatus.PAID, issued_at=t0)
    add_event(app, shop, "tenant.plan_changed", at=t0 + timedelta(days=1))
    add_event(app, shop, "billing.past_due", at=t0 + timedelta(days=2))
    add_event(app, shop, "tenant.suspended", at=t0 + timedelta(days=3))  # not billing
    second = add_invoice(app, shop, issued_at=t0 + timedelta(days=4), attempt_count=1)
    add_event(app, shop, "tenant.trial_extended", at=t0 + timedelta(days=5))
    add_invoice(app, other, issued_at=t0 + timedelta(days=6))  # another shop's
    add_event(app, other, "billing.settled", at=t0 + timedelta(days=6))

    with app.app_context():
        history = metrics.billing_history(shop)
        lines = [(e.kind, e.invoice.id if e.invoice else e.event.action) for e in history]
        assert {(e.invoice or e.event).tenant_id for e in history} == {shop}
    assert lines == [
        ("event", "tenant.trial_extended"),
        ("invoice", second),
        ("event", "billing.past_due"),
        ("event", "tenant.plan_changed"),
        ("invoice", first),
    ]


# --- the billing page -----------------------------------------------------------------


def test_billing_page_needs_an_operator(console_client):
    response = console_client.get("/billing")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_billing_page_shows_figures_filters_and_the_manual_notice(app, console):
    cur = fresh_currency()
    plan = billing_plan(app, 4321, currency=cur, name="Figures Plan")
    billed_shop(app, plan, name="Paying Peony")
    late = billed_shop(
        app,
        plan,
        name="Late Lily",
        status=PAST_DUE,
        past_due_since=now() - timedelta(days=2),
        closes_at=now() + timedelta(days=12),
    )
    billed_shop(app, plan, name="Trying Tulip", status=TRIALING, trial_ends_at=now())
    shut = billed_shop(
        app, plan, name="Shut Sage", status=PAST_DUE, closes_at=now() - timedelta(days=1)
    )
    for once_paid in (late, shut):
        add_invoice(app, once_paid, InvoiceStatus.PAID, 4321)
    with app.app_context():
        counts = metrics.subscription_counts()

    page = console.get("/billing")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Billing</h1>" in html
    assert 'href="/billing" aria-current="page">Billing</a>' in html  # in the nav
    assert "Payments are not configured: billing is manual." in html
    # MRR: three at 43.21: one active, two past due (one of them closed, still owed).
    assert f"129.63 {cur.upper()}" in html
    assert "Churn, last 30 days" in html
    assert f'href="/billing?status=past_due">Payment overdue ({counts["past_due"]})</a>' in html
    assert f'href="/billing?status=closed">Closed ({counts["closed"]})</a>' in html
    assert f'href="/billing?status=trialing">Free trial ({counts["trialing"]})</a>' in html
    assert "Paying Peony" in html and "Late Lily" in html and "Trying Tulip" in html
    assert f'href="/tenants/{shut}"' in html  # each row links to the shop's page

    late = console.get("/billing?status=past_due").text
    table = section(late, "subscriptions-h")
    assert "Late Lily" in table and "Shut Sage" in table
    assert "Paying Peony" not in table and "Trying Tulip" not in table
    assert "Payment overdue since" in table and "storefront closes on" in table
    assert 'href="/billing?status=past_due" aria-current="page"' in late
    closed = section(console.get("/billing?status=closed").text, "subscriptions-h")
    assert "Shut Sage" in closed and "Closed since" in closed and "Late Lily" not in closed

    bad = console.get("/billing?status=bogus")
    assert bad.status_code == 400 and "Choose a status from the list." in bad.text


def test_billing_page_without_the_notice_when_stripe_is_configured(app, console, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_x")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", "whsec_x")
    html = console.get("/billing").text
    assert "Payments are not configured" not in html


def test_billing_page_empty_states(app, console, monkeypatch):
    """A platform with no subscriptions and no failed payments yet."""
    monkeypatch.setattr(metrics, "mrr", lambda: [])
    monkeypatch.setattr(
        metrics, "failed_payments", lambda page=1, per_page=10: Page([], 0, 1, per_page)
    )
    real_query = metrics.subscriptions_query
    monkeypatch.setattr(
        metrics, "subscriptions_query", lambda status=None: real_query(status).where(false())
    )
    html = console.get("/billing").text
    assert "None yet" in html
    assert "No subscriptions yet" in html
    assert "No failed payments." in html
    filtered = console.get("/billing?status=canceled").text
    assert "No subscriptions are “Cancelled”." in filtered


def test_subscription_list_paginates_and_keeps_the_filter(app, console):
    plan = billing_plan(app)
    ids = [
        billed_shop(app, plan, name=f"Paged Poppy {i:02d}", status=CANCELED, canceled_at=now())
        for i in range(27)
    ]
    with app.app_context():
        total = db.session.scalar(
            select(func.count(Subscription.id))
            .join(Tenant, Tenant.id == Subscription.tenant_id)
            .where(Subscription.status == CANCELED, Tenant.status != TenantStatus.DELETED)
        )
    first = console.get("/billing?status=canceled").text
    table = section(first, "subscriptions-h")
    assert f"{total} subscriptions — Cancelled" in table
    assert f"Page 1 of {-(-total // 25)}" in table
    assert table.count("Paged Poppy") == 25  # newest first: this test's, 26 down to 02
    assert "Paged Poppy 26" in table and "Paged Poppy 01" not in table
    link = re.search(r'href="([^"]+)" rel="next"', table).group(1).replace("&amp;", "&")
    assert "status=canceled" in link and "page=2" in link
    second = section(console.get(link).text, "subscriptions-h")
    assert "Paged Poppy 01" in second and "Paged Poppy 00" in second
    assert f'href="/tenants/{ids[0]}"' in second


# --- the shop page --------------------------------------------------------------------


def test_shop_page_shows_billing_and_its_history(app, console, make_tenant):
    tenant = make_tenant(name="History Hazel")
    other = make_tenant(name="Other Olive")
    plan = billing_plan(app, 2500, yearly_price_cents=25000, name="Yearly Plus")
    since = now() - timedelta(days=3)
    subscribe(
        app,
        tenant.id,
        plan,
        status=PAST_DUE,
        interval=YEAR,
        past_due_since=since,
        closes_at=since + timedelta(days=14),
        stripe_customer_id=f"cus_{tenant.slug}",
        stripe_subscription_id=f"sub_{tenant.slug}",
        payment_method="Visa •••• 4242",
    )
    subscribe(app, other.id, plan)
    add_invoice(
        app,
        tenant.id,
        InvoiceStatus.PAID,
        25000,
        issued_at=now() - timedelta(days=40),
        number="HH-0001",
        hosted_url="https://invoice.example/hh1",
        pdf_url="https://invoice.example/hh1.pdf",
    )
    add_invoice(
        app,
        tenant.id,
        amount_cents=25000,
        issued_at=since,
        number="HH-0002",
        attempt_count=2,
        next_attempt_at=now() + timedelta(days=2),
        hosted_url="javascript:alert(1)",  # never a link
    )
    add_event(app, tenant.id, "billing.past_due", at=since, reason="Card declined")
    add_event(app, tenant.id, "tenant.suspended", reason="Not billing")
    add_invoice(app, other.id, number="OO-0001", issued_at=since)

    page = console.get(f"/tenants/{tenant.id}")
    assert page.status_code == 200
    billing = section(page.text, "billing-h")
    assert "Yearly Plus" in billing and "$250.00/year" in billing and "Yearly" in billing
    assert "Payment overdue" in billing
    assert "Payment overdue since" in billing and "storefront closes on" in billing
    assert f"cus_{tenant.slug}" in billing and f"sub_{tenant.slug}" in billing
    assert "Visa •••• 4242" in billing
    history = billing[billing.index('id="billing-history-h"') :]
    assert history.index("HH-0002") < history.index("billing.past_due") < history.index("HH-0001")
    assert "2 failed attempts" in history and "Card declined" in history
    assert 'href="https://invoice.example/hh1"' in history
    assert 'href="https://invoice.example/hh1.pdf"' in history
    assert "javascript:" not in history
    assert "tenant.suspended" not in history  # not a billing event
    assert "OO-0001" not in page.text  # never another shop's invoices
    # A Stripe-billed shop has no manual form: its payments come from Stripe.
    assert "/record-payment" not in page.text and "pays through Stripe" in billing

    other_page = console.get(f"/tenants/{other.id}").text
    assert "HH-000" not in other_page
    assert f'action="/tenants/{other.id}/record-payment"' in other_page
    assert "No invoices or billing events" not in other_page  # it has OO-0001


# --- recording a payment --------------------------------------------------------------


def test_recording_a_payment_reopens_a_closed_shop(
    app, console, operator, make_tenant, shop_client
):
    starter = starter_id(app)
    tenant = make_tenant(name="Closed Clover")
    bystander = make_tenant(name="Closed Bystander")
    overdue = now() - timedelta(days=20)
    for shop in (tenant, bystander):
        subscribe(
            app,
            shop.id,
            starter,
            status=PAST_DUE,
            past_due_since=overdue,
            closes_at=overdue + timedelta(days=14),
        )
    shop = shop_client(tenant)
    closed = shop.get("/")
    assert closed.status_code == 503 and "closed" in closed.text
    page = console.get(f"/tenants/{tenant.id}").text
    assert "Closed since" in page
    assert f'action="/tenants/{tenant.id}/record-payment"' in page

    response = console.post(
        f"/tenants/{tenant.id}/record-payment", data={"periods": "2", "reason": "Transfer 8812"}
    )
    assert response.status_code == 302
    done = console.get(response.headers["Location"]).text
    assert "Payment of $18.00 recorded for Closed Clover" in done
    assert "Its storefront is open again." in done
    assert shop.get("/").status_code == 200

    subscription = subscription_row(app, tenant.id)
    assert subscription.status == ACTIVE and subscription.past_due_since is None
    assert subscription.current_period_end > now() + timedelta(days=58)
    assert shop_row(app, tenant.id).billing_closes_at is None
    [invoice] = invoices_of(app, tenant.id)
    assert (invoice.status, invoice.amount_paid_cents) == (InvoiceStatus.PAID, 1800)
    assert "billing.payment_recorded" in actions_of(app, tenant.id)
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == tenant.id, AuditEvent.action == "billing.payment_recorded"
            )
        )
        assert (event.actor_type, event.actor_id, event.reason) == (
            "operator",
            operator.id,
            "Transfer 8812",
        )
        assert event.ip == "198.51.100.41" and event.detail["periods"] == 2
    history = section(done, "billing-h")
    assert invoice.number in history and "billing.payment_recorded" in history

    # The other closed shop is untouched: still closed, still past due, no invoice.
    assert shop_client(bystander).get("/").status_code == 503
    assert subscription_row(app, bystander.id).status == PAST_DUE
    assert shop_row(app, bystander.id).billing_closes_at is not None
    assert invoices_of(app, bystander.id) == []
    assert "billing.payment_recorded" not in actions_of(app, bystander.id)


def _unchanged(app, tenant_id, before: Subscription | None) -> None:
    after = subscription_row(app, tenant_id)
    if before is None:
        assert after is None
    else:
        assert (after.status, after.current_period_end, after.past_due_since) == (
            before.status,
            before.current_period_end,
            before.past_due_since,
        )
    assert invoices_of(app, tenant_id) == []
    assert not [a for a in actions_of(app, tenant_id) if a.startswith("billing.")]


def test_refused_payments_change_nothing(app, console, make_tenant):
    starter = starter_id(app)
    tenant = make_tenant(name="Refusing Rue")
    subscribe(app, tenant.id, starter, status=TRIALING, trial_ends_at=now() + timedelta(days=3))
    before = subscription_row(app, tenant.id)
    url = f"/tenants/{tenant.id}/record-payment"

    no_reason = console.post(url, data={"periods": "1", "reason": "  "})
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.text
    assert 'aria-describedby="payment-reason-hint payment-reason-error"' in no_reason.text
    for periods in ("0", "25", "two", ""):
        bad = console.post(url, data={"periods": periods, "reason": "Transfer"})
        assert bad.status_code == 400 and "Enter a whole number of periods" in bad.text
        assert f'value="{periods}"' in bad.text  # what was typed is kept
    _unchanged(app, tenant.id, before)

    # Billed through Stripe: its payments come from Stripe, never by hand.
    stripe_shop = make_tenant(name="Stripe Saffron")
    subscribe(app, stripe_shop.id, starter, stripe_subscription_id=f"sub_{stripe_shop.slug}")
    stripe_before = subscription_row(app, stripe_shop.id)
    refused = console.post(
        f"/tenants/{stripe_shop.id}/record-payment", data={"periods": "1", "reason": "Transfer"}
    )
    assert refused.status_code == 409 and "pays through Stripe" in refused.text
    _unchanged(app, stripe_shop.id, stripe_before)

    # A deleted shop cannot pay.
    deleted = make_tenant(name="Deleted Dill")
    subscribe(app, deleted.id, starter, status=PAST_DUE, closes_at=now() - timedelta(days=1))
    deleted_before = subscription_row(app, deleted.id)
    set_shop(app, deleted.id, status=TenantStatus.DELETED, deleted_at=now())
    refused = console.post(
        f"/tenants/{deleted.id}/record-payment", data={"periods": "1", "reason": "Transfer"}
    )
    assert refused.status_code == 409 and "A deleted shop cannot pay" in refused.text
    _unchanged(app, deleted.id, deleted_before)
    assert shop_row(app, deleted.id).billing_closes_at is not None

    # A shop with no plan has nothing to pay for.
    planless = bare_shop(app, name="Planless Parsley")
    refused = console.post(
        f"/tenants/{planless}/record-payment", data={"periods": "1", "reason": "Transfer"}
    )
    assert refused.status_code == 409 and "no plan yet" in refused.text
    _unchanged(app, planless, None)

    assert console.post("/tenants/999999999/record-payment", data={}).status_code == 404
