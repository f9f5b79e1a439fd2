"""The review-request email: due N days after delivery (or shipment), sent once, by the
sweep or the delayed job, with one working link per line."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from saas.db import db
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tenants.orders.models import Fulfillment, Order
from tenants.reviews import emails
from tests.reviews.conftest import buy


def _ship(app, tenant, order_id, *, days_ago: int, delivered: bool = True) -> None:
    with app.app_context(), tenant_context(tenant):
        order = db.session.get(Order, order_id)
        when = datetime.now(UTC) - timedelta(days=days_ago)
        order.fulfillments.append(
            Fulfillment(
                lines=[{"line_id": order.lines[0].id, "quantity": 1}],
                created_at=when,
                delivered_at=when if delivered else None,
            )
        )


def _requests(app, tenant) -> list[OutboxMessage]:
    with app.app_context(), tenant_context(tenant):
        rows = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.subject.like("How do you like%"))
        ).all()
        db.session.expunge_all()
        return list(rows)


def run_cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def test_the_sweep_asks_once_after_the_shops_days(app, make_tenant, shop_client):
    tenant = make_tenant()
    due = buy(app, tenant, "Due")
    early = buy(app, tenant, "Early")
    shipped = buy(app, tenant, "Shipped only", status="fulfilled")
    _ship(app, tenant, due.order_id, days_ago=8)
    _ship(app, tenant, early.order_id, days_ago=2)
    _ship(app, tenant, shipped.order_id, days_ago=9, delivered=False)
    result = run_cli(app, "tenants", "sweep")
    assert "review request(s) sent" in result.output  # (other tests' shops may have some)
    sent = _requests(app, tenant)
    assert len(sent) == 2
    assert {m.to_address for m in sent} == {"buyer@example.com"}
    first = next(m for m in sent if "Due" in m.body)
    link = re.search(r"https?://[^/\s]+(/reviews/write/\S+)", first.body)
    assert link is not None
    assert shop_client(tenant).get(link.group(1)).status_code == 200
    run_cli(app, "tenants", "sweep")
    assert len(_requests(app, tenant)) == 2
    with app.app_context(), tenant_context(tenant):
        assert db.session.get(Order, due.order_id).review_requested_at is not None
        assert db.session.get(Order, early.order_id).review_requested_at is None


def test_no_request_when_the_shop_turned_them_off_or_the_line_is_reviewed(
    app, make_tenant, shop_client
):
    tenant = make_tenant()
    item = buy(app, tenant)
    _ship(app, tenant, item.order_id, days_ago=8)
    shop_client(tenant).post(
        item.path, data={"rating": "4", "body": "Already said.", "author_name": "R"}
    )
    with app.app_context(), tenant_context(tenant):
        assert emails.send_request(item.order_id) is False
        assert db.session.get(Order, item.order_id).review_requested_at is not None
    other = make_tenant()
    later = buy(app, other)
    _ship(app, other, later.order_id, days_ago=30)
    with app.app_context(), tenant_context(other):
        from tenants.settings.services import get_settings

        get_settings().reviews_request_days = 0
    with app.app_context(), tenant_context(other):
        assert emails.sweep() == 0
        assert emails.send_request(later.order_id) is False
    assert _requests(app, tenant) == [] and _requests(app, other) == []


def test_marking_delivered_schedules_the_request(app, make_tenant, staff_client, monkeypatch):
    tenant = make_tenant()
    item = buy(app, tenant, status="fulfilled")
    _ship(app, tenant, item.order_id, days_ago=1, delivered=False)
    queued = []
    monkeypatch.setattr(emails, "enqueue", lambda *a, **k: queued.append((a, k)))
    with app.app_context(), tenant_context(tenant):
        number = db.session.get(Order, item.order_id).number
    client = staff_client(tenant, permissions=["orders"])
    assert client.post(f"/admin/orders/{number}/delivered").status_code == 302
    assert len(queued) == 1
    (func, order_id), options = queued[0]
    assert func is emails.send_request and order_id == item.order_id
    assert timedelta(days=6, hours=23) < options["delay"] < timedelta(days=7, minutes=2)
