"""What the operator does to a shop from the console: suspend, resume, change plan,
extend trial, delete (export, purge), restore, impersonate. Each is audited."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text, update

from saas.console.actions import purge_due_tenants
from saas.db import db
from saas.handoff import TOKEN_TTL
from saas.jobs import get_queue, make_worker
from saas.models import (
    AuditEvent,
    HandoffToken,
    Plan,
    Subscription,
    SubscriptionStatus,
    Tenant,
    TenantStatus,
)
from saas.tokens import token_hash
from tests.conftest import client_for, log_in_as
from tests.console.test_console import as_operator, put_on_plan


@pytest.fixture
def operator(make_operator):
    return make_operator()


@pytest.fixture
def console(console_client, operator):
    console_client.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    return as_operator(console_client, operator)


def tenant_of(app, tenant_id) -> Tenant | None:
    with app.app_context():
        row = db.session.get(Tenant, tenant_id)
        if row is not None:
            db.session.expunge(row)
        return row


def subscription_of(app, tenant_id) -> Subscription | None:
    with app.app_context():
        row = db.session.scalar(select(Subscription).where(Subscription.tenant_id == tenant_id))
        if row is not None:
            db.session.expunge(row)
        return row


def last_event(app, action, tenant_id) -> AuditEvent | None:
    with app.app_context():
        row = db.session.scalar(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.tenant_id == tenant_id)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
        if row is not None:
            db.session.expunge(row)
        return row


def schema_exists(app, tenant_id) -> bool:
    with app.app_context():
        return bool(
            db.session.scalar(
                text("SELECT count(*) FROM pg_namespace WHERE nspname = :n"),
                {"n": f"t_{tenant_id}"},
            )
        )


# --- suspend and resume ---------------------------------------------------------------


def test_suspend_closes_the_storefront_and_keeps_the_back_office(
    app, console, operator, make_tenant, shop_client, staff_client
):
    tenant = make_tenant(name="Suspend Me", products=[("Lamp", 4000)])
    other = make_tenant(name="Bystander")
    shop = shop_client(tenant)
    assert shop.get("/").status_code == 200  # (and now cached by host)
    back_office = staff_client(tenant, role="owner")

    response = console.post(f"/tenants/{tenant.id}/suspend", data={"reason": "Chargebacks"})
    assert response.status_code == 302
    assert "is suspended" in console.get(response.headers["Location"]).text

    closed = shop.get("/")
    assert closed.status_code == 503 and "temporarily unavailable" in closed.text
    assert shop_client(other).get("/").status_code == 200  # another shop is untouched
    assert back_office.get("/admin/login").status_code != 503
    home = back_office.get("/admin/")
    assert home.status_code != 503
    if home.status_code == 200:
        assert "Your shop is suspended" in home.text

    row = tenant_of(app, tenant.id)
    assert row.status == TenantStatus.SUSPENDED and row.status_reason == "Chargebacks"
    event = last_event(app, "tenant.suspended", tenant.id)
    assert (event.actor_type, event.actor_id, event.actor_email) == (
        "operator",
        operator.id,
        operator.email,
    )
    assert event.reason == "Chargebacks" and event.ip == "198.51.100.23"

    response = console.post(f"/tenants/{tenant.id}/resume", data={"reason": "Sorted out"})
    assert response.status_code == 302
    assert shop.get("/").status_code == 200
    assert tenant_of(app, tenant.id).status == TenantStatus.ACTIVE
    assert last_event(app, "tenant.resumed", tenant.id).reason == "Sorted out"


def test_actions_need_a_reason_and_change_nothing_without(app, console, make_tenant):
    tenant = make_tenant()
    response = console.post(f"/tenants/{tenant.id}/suspend", data={"reason": "  "})
    assert response.status_code == 400
    assert "Give a reason" in response.text
    assert 'aria-describedby="suspend-reason-error"' in response.text
    too_long = console.post(f"/tenants/{tenant.id}/suspend", data={"reason": "x" * 501})
    assert too_long.status_code == 400 and "under 500 characters" in too_long.text
    assert "x" * 501 in too_long.text  # the typed reason is kept
    assert tenant_of(app, tenant.id).status == TenantStatus.ACTIVE
    assert last_event(app, "tenant.suspended", tenant.id) is None
    # Resuming a shop that is not suspended is refused with a message.
    refused = console.post(f"/tenants/{tenant.id}/resume", data={"reason": "why not"})
    assert refused.status_code == 409 and "Only a suspended shop" in refused.text


def test_forms_without_csrf_token_are_refused(app, live_server, make_tenant, operator):
    """The console's forms carry a CSRF token; a forged POST without it changes nothing."""
    live_app = live_server.server.app
    client = client_for(live_app, "admin.localhost")
    tenant = make_tenant()
    log_in_as(client, f"op:{operator.id}:1")
    page = client.get(f"/tenants/{tenant.id}")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    forged = client.post(f"/tenants/{tenant.id}/suspend", data={"reason": "forged"})
    assert forged.status_code == 400
    assert tenant_of(app, tenant.id).status == TenantStatus.ACTIVE
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    ok = client.post(f"/tenants/{tenant.id}/suspend", data={"reason": "real", "csrf_token": token})
    assert ok.status_code == 302
    assert tenant_of(app, tenant.id).status == TenantStatus.SUSPENDED


# --- plan and trial -------------------------------------------------------------------


def plan_by_code(app, code) -> Plan:
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.code == code))
        db.session.expunge(plan)
        return plan


def test_change_plan(app, console, operator, make_tenant):
    tenant = make_tenant()
    put_on_plan(app, tenant, "starter")
    growth = plan_by_code(app, "growth")
    response = console.post(
        f"/tenants/{tenant.id}/plan", data={"plan_id": growth.id, "reason": "Upsold"}
    )
    assert response.status_code == 302
    assert subscription_of(app, tenant.id).plan_id == growth.id
    event = last_event(app, "tenant.plan_changed", tenant.id)
    assert event.detail == {"old_plan": "starter", "new_plan": "growth"}
    assert event.actor_id == operator.id and event.reason == "Upsold"

    page = console.get(f"/tenants/{tenant.id}").text
    assert "Growth" in page and "<td>Products</td><td>0</td><td>1000</td>" in page

    bad = console.post(f"/tenants/{tenant.id}/plan", data={"plan_id": "999999", "reason": "x"})
    assert bad.status_code == 400 and "Choose a plan from the list." in bad.text


def test_change_plan_refuses_retired_plans_and_starts_a_missing_subscription(
    app, console, make_tenant
):
    tenant = make_tenant()
    with app.app_context():
        retired = Plan(code=f"old-{tenant.id}", name="Old", price_cents=100)
        retired.retired_at = datetime.now(UTC)
        db.session.add(retired)
        db.session.commit()
        retired_id = retired.id
    page = console.get(f"/tenants/{tenant.id}").text
    plan_select = page.split('id="plan-plan_id"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{retired_id}"' not in plan_select  # not offered
    assert "No subscription yet" in page
    refused = console.post(
        f"/tenants/{tenant.id}/plan", data={"plan_id": retired_id, "reason": "x"}
    )
    assert refused.status_code == 400 and subscription_of(app, tenant.id) is None
    pro = plan_by_code(app, "pro")
    console.post(f"/tenants/{tenant.id}/plan", data={"plan_id": pro.id, "reason": "Start"})
    subscription = subscription_of(app, tenant.id)
    assert subscription.plan_id == pro.id and subscription.status == SubscriptionStatus.TRIALING


def test_extend_trial(app, console, make_tenant):
    tenant = make_tenant()
    put_on_plan(app, tenant, "starter")
    before = subscription_of(app, tenant.id).trial_ends_at
    for days in ("0", "91", "abc", ""):
        response = console.post(f"/tenants/{tenant.id}/trial", data={"days": days, "reason": "x"})
        assert response.status_code == 400
        assert "whole number of days from 1 to 90" in response.text
    assert subscription_of(app, tenant.id).trial_ends_at == before

    response = console.post(f"/tenants/{tenant.id}/trial", data={"days": "10", "reason": "Asked"})
    assert response.status_code == 302
    after = subscription_of(app, tenant.id)
    assert after.trial_ends_at == before + timedelta(days=10)
    assert after.status == SubscriptionStatus.TRIALING
    event = last_event(app, "tenant.trial_extended", tenant.id)
    assert event.detail["days"] == 10 and event.reason == "Asked"

    # A trial that already ended restarts from now, and the shop is trialing again.
    with app.app_context():
        db.session.execute(
            update(Subscription)
            .where(Subscription.tenant_id == tenant.id)
            .values(
                trial_ends_at=datetime.now(UTC) - timedelta(days=40),
                status=SubscriptionStatus.PAST_DUE,
            )
        )
        db.session.commit()
    console.post(f"/tenants/{tenant.id}/trial", data={"days": "5", "reason": "Goodwill"})
    renewed = subscription_of(app, tenant.id)
    assert renewed.status == SubscriptionStatus.TRIALING
    expected = datetime.now(UTC) + timedelta(days=5)
    assert abs((renewed.trial_ends_at - expected).total_seconds()) < 60


# --- delete, export, purge, restore ---------------------------------------------------


def delete(console, tenant, reason="Fraud"):
    return console.post(
        f"/tenants/{tenant.id}/delete", data={"confirm": tenant.slug, "reason": reason}
    )


def scheduled_purges(app, tenant_id):
    with app.app_context():
        registry = get_queue().scheduled_job_registry
        jobs = [get_queue().fetch_job(job_id) for job_id in registry.get_job_ids()]
        wanted = ["saas.console.actions.purge_tenant_job", [tenant_id]]
        return [j for j in jobs if j is not None and list(j.args[1:3]) == wanted]


def test_delete_asks_for_the_address_first(app, console, make_tenant, shop_client):
    tenant = make_tenant(name="Careful Shop")
    page = console.get(f"/tenants/{tenant.id}/delete")
    assert page.status_code == 200 and "Delete Careful Shop?" in page.text
    assert '<label for="confirm">Type the shop address to confirm</label>' in page.text
    wrong = console.post(
        f"/tenants/{tenant.id}/delete", data={"confirm": "something-else", "reason": ""}
    )
    assert wrong.status_code == 400
    assert f"Type the shop address, {tenant.slug}, exactly" in wrong.text
    assert "Give a reason" in wrong.text and 'value="something-else"' in wrong.text
    assert tenant_of(app, tenant.id).status == TenantStatus.ACTIVE
    assert shop_client(tenant).get("/").status_code == 200


def test_delete_exports_then_purges_after_retention(
    app, console, operator, make_tenant, shop_client, staff_client
):
    tenant = make_tenant(name="Doomed", products=[("Doomed Kettle", 3500), ("Doomed Tray", 900)])
    other = make_tenant(name="Neighbour", products=[("Neighbour Secret Sauce", 700)])
    put_on_plan(app, tenant, "starter")
    back_office = staff_client(tenant, role="owner")
    assert shop_client(tenant).get("/").status_code == 200

    response = delete(console, tenant)
    assert response.status_code == 302
    # Gone from the web at once: storefront and back office.
    assert shop_client(tenant).get("/").status_code == 404
    assert back_office.get("/admin/login").status_code == 404
    assert shop_client(other).get("/").status_code == 200
    row = tenant_of(app, tenant.id)
    assert row.status == TenantStatus.DELETED and row.deleted_at is not None
    retention = timedelta(days=app.config["DELETED_RETENTION_DAYS"])
    assert abs((row.purge_after - row.deleted_at) - retention) < timedelta(seconds=1)
    deleted = last_event(app, "tenant.deleted", tenant.id)
    assert deleted.actor_id == operator.id and deleted.reason == "Fraud"
    assert scheduled_purges(app, tenant.id), "a purge is scheduled for after retention"

    # The export job (a platform job: the shop is deleted) writes the file.
    assert make_worker(app).work(burst=True)
    row = tenant_of(app, tenant.id)
    assert row.export_path and row.export_path.startswith(app.config["EXPORT_PATH"])
    assert re.search(rf"/{tenant.slug}-{tenant.id}-\d{{8}}T\d{{6}}Z\.json$", row.export_path)
    with open(row.export_path, encoding="utf-8") as f:
        raw = f.read()
    export = json.loads(raw)
    assert export["tenant"]["slug"] == tenant.slug
    titles = sorted(p["title"] for p in export["tables"]["products"])
    assert titles == ["Doomed Kettle", "Doomed Tray"]
    assert "Neighbour Secret Sauce" not in raw
    assert [s["email"] for s in export["tables"]["staff"]] == [back_office.staff.email]
    assert {"shop_settings", "orders", "outbox_messages"} <= set(export["tables"])
    assert [t["id"] for t in export["platform"]["tenants"]] == [tenant.id]
    assert export["platform"]["subscriptions"][0]["tenant_id"] == tenant.id
    assert {e["tenant_id"] for e in export["platform"]["audit_events"]} == {tenant.id}
    exported = last_event(app, "tenant.exported", tenant.id)
    assert exported.detail["rows"]["products"] == 2 and exported.actor_type == "system"
    assert "Export:" in console.get(f"/tenants/{tenant.id}").text

    # Before the retention period is over, the purge leaves it alone.
    with app.app_context():
        assert not [r for r in purge_due_tenants() if r.tenant_id == tenant.id]
    assert schema_exists(app, tenant.id)

    # After it: the schema and the rows go; the audit trail and the export stay.
    with app.app_context():
        db.session.execute(
            update(Tenant)
            .where(Tenant.id == tenant.id)
            .values(purge_after=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["tenants", "purge"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"purged {tenant.slug} (id {tenant.id})" in result.output
    assert not schema_exists(app, tenant.id)
    assert tenant_of(app, tenant.id) is None and subscription_of(app, tenant.id) is None
    assert schema_exists(app, other.id) and shop_client(other).get("/").status_code == 200
    assert last_event(app, "tenant.deleted", tenant.id) is not None
    purged = last_event(app, "tenant.purged", tenant.id)
    assert purged.detail["slug"] == tenant.slug
    import os

    assert os.path.exists(row.export_path)
    # Its audit log is still reachable by address after the shop row is gone.
    log = console.get(f"/audit?tenant={tenant.slug}")
    assert log.status_code == 200 and "tenant.purged" in log.text and "(purged)" in log.text
    # The scheduled job, when it fires later, finds nothing left to do.
    with app.app_context():
        from saas.console.actions import purge_tenant_job

        assert purge_tenant_job(tenant.id) is False
        for job in scheduled_purges(app, tenant.id):
            get_queue().scheduled_job_registry.remove(job)


def test_purge_waits_for_the_export(app, console, make_tenant):
    tenant = make_tenant()
    delete(console, tenant)
    with app.app_context():
        get_queue().empty()  # the export job never ran
        db.session.execute(
            update(Tenant)
            .where(Tenant.id == tenant.id)
            .values(purge_after=datetime.now(UTC) - timedelta(days=1))
        )
        db.session.commit()
        [result] = [r for r in purge_due_tenants() if r.tenant_id == tenant.id]
    assert not result.purged and "no export" in result.note
    assert schema_exists(app, tenant.id) and tenant_of(app, tenant.id) is not None
    with app.app_context():
        for job in scheduled_purges(app, tenant.id):
            get_queue().scheduled_job_registry.remove(job)


def test_restore_within_retention(app, console, make_tenant, shop_client, staff_client):
    tenant = make_tenant(name="Comeback", products=[("Boomerang", 1200)])
    back_office = staff_client(tenant, role="owner")
    delete(console, tenant)
    with app.app_context():
        get_queue().empty()
    assert shop_client(tenant).get("/").status_code == 404
    page = console.get(f"/tenants/{tenant.id}").text
    assert "Restore shop" in page and "Suspend shop" not in page
    assert "Enter back office" not in page  # no impersonation of a deleted shop

    response = console.post(f"/tenants/{tenant.id}/restore", data={"reason": "Mistake"})
    assert response.status_code == 302
    row = tenant_of(app, tenant.id)
    assert row.status == TenantStatus.SUSPENDED and row.purge_after is None
    assert shop_client(tenant).get("/").status_code == 503  # restored, still closed
    assert back_office.get("/admin/login").status_code != 503
    assert last_event(app, "tenant.restored", tenant.id).reason == "Mistake"
    # Nothing purges it now, even when its old scheduled job fires.
    with app.app_context():
        from saas.console.actions import purge_tenant_job

        assert purge_tenant_job(tenant.id) is False
        for job in scheduled_purges(app, tenant.id):
            get_queue().scheduled_job_registry.remove(job)
    console.post(f"/tenants/{tenant.id}/resume", data={"reason": "Back"})
    assert "Boomerang" in shop_client(tenant).get("/").text


def test_restore_refused_after_retention(app, console, make_tenant):
    tenant = make_tenant()
    delete(console, tenant)
    with app.app_context():
        get_queue().empty()
        db.session.execute(
            update(Tenant)
            .where(Tenant.id == tenant.id)
            .values(purge_after=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.session.commit()
        for job in scheduled_purges(app, tenant.id):
            get_queue().scheduled_job_registry.remove(job)
    response = console.post(f"/tenants/{tenant.id}/restore", data={"reason": "Too late"})
    assert response.status_code == 409 and "retention period is over" in response.text
    assert tenant_of(app, tenant.id).status == TenantStatus.DELETED


# --- impersonation --------------------------------------------------------------------


def test_impersonation_issues_a_one_time_token(app, console, operator, make_tenant, shop_client):
    tenant = make_tenant(name="Help Me")
    page = console.get(f"/tenants/{tenant.id}").text
    assert '<label for="impersonate-reason">Reason for entering the shop</label>' in page
    response = console.post(
        f"/tenants/{tenant.id}/impersonate",
        data={"mode": "read-only", "reason": "Ticket #42", "minutes": "15"},
    )
    assert response.status_code == 302
    url = urlsplit(response.headers["Location"])
    assert url.netloc == f"{tenant.slug}.localhost" and url.path == "/admin/enter"
    raw = parse_qs(url.query)["token"][0]
    with app.app_context():
        row = db.session.scalar(
            select(HandoffToken).where(HandoffToken.token_hash == token_hash(raw))
        )
        assert row.tenant_id == tenant.id and row.operator_id == operator.id
        assert row.read_only and row.reason == "Ticket #42" and row.used_at is None
        assert row.expires_at - row.created_at <= TOKEN_TTL + timedelta(seconds=1)
        window = row.session_expires_at - row.created_at
        assert timedelta(minutes=14) < window <= timedelta(minutes=15, seconds=1)
    event = last_event(app, "operator.impersonation_started", tenant.id)
    assert (event.actor_type, event.actor_id, event.actor_email) == (
        "operator",
        operator.id,
        operator.email,
    )
    assert event.reason == "Ticket #42" and event.detail["mode"] == "read-only"
    assert event.detail["minutes"] == 15 and event.ip == "198.51.100.23"

    # The token opens the shop's back office once.
    shop = shop_client(tenant)
    entered = shop.get(f"/admin/enter?token={raw}")
    if entered.status_code == 404:  # the hand-off endpoint is not there yet
        pytest.skip("no /admin/enter yet")
    assert entered.status_code == 302
    home = shop.get("/admin/")
    assert home.status_code == 200 and "Operator session (read-only)" in home.text
    again = shop_client(tenant).get(f"/admin/enter?token={raw}")
    assert again.status_code == 400
    # It is bound to its shop: presented to another shop it opens nothing.
    other = make_tenant()
    assert shop_client(other).get(f"/admin/enter?token={raw}").status_code == 400


def test_impersonation_form_checks(app, console, make_tenant):
    tenant = make_tenant()
    response = console.post(
        f"/tenants/{tenant.id}/impersonate",
        data={"mode": "god", "reason": "", "minutes": "999"},
    )
    assert response.status_code == 400
    for message in ("Give a reason", "Choose read-only or full access.", "Choose 15, 30 or 60"):
        assert message in response.text
    long = console.post(
        f"/tenants/{tenant.id}/impersonate",
        data={"mode": "full", "reason": "y" * 501, "minutes": "30"},
    )
    assert long.status_code == 400 and "under 500 characters" in long.text
    with app.app_context():
        assert not db.session.scalar(
            select(HandoffToken.id).where(HandoffToken.tenant_id == tenant.id)
        )
    # A deleted shop cannot be entered.
    delete(console, tenant)
    with app.app_context():
        get_queue().empty()
        for job in scheduled_purges(app, tenant.id):
            get_queue().scheduled_job_registry.remove(job)
    refused = console.post(
        f"/tenants/{tenant.id}/impersonate",
        data={"mode": "full", "reason": "peek", "minutes": "30"},
    )
    assert refused.status_code == 409 and "deleted shop cannot be entered" in refused.text
    with app.app_context():
        assert not db.session.scalar(
            select(HandoffToken.id).where(HandoffToken.tenant_id == tenant.id)
        )
