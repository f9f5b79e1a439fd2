"""Background jobs run by real RQ workers, each inside the shop it was queued for."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from saas.config import PROJECT_ROOT
from saas.db import db
from saas.jobs import enqueue, get_queue, make_worker
from saas.mail import send_email
from saas.models import Tenant, TenantStatus
from saas.outbox import OutboxMessage
from saas.tenancy import current_tenant, tenant_context
from tenants.settings.onboarding import send_welcome_email

pytestmark = pytest.mark.smoke


def note_tenant(marker: str) -> str:
    """A job that writes where it ran: into the current schema, naming the current shop."""
    send_email("probe@example.com", f"{current_tenant.slug}:{marker}", "probe")
    return current_tenant.slug


def outbox(app, tenant) -> list[tuple[str, str]]:
    with app.app_context(), tenant_context(tenant):
        return [
            (m.to_address, m.subject)
            for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def test_enqueue_records_the_current_tenant(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        with tenant_context(tenant):
            job = enqueue(note_tenant, "x")
        assert job.meta["tenant_id"] == tenant.id
        platform_job = enqueue(note_tenant, "y")
        assert platform_job.meta["tenant_id"] is None
        get_queue().empty()


def test_worker_runs_each_job_in_its_own_shop(app, make_tenant):
    a, b = make_tenant(name="Alpha"), make_tenant(name="Beta")
    with app.app_context():
        enqueue(send_welcome_email, "owner@alpha.test", tenant_id=a.id, queue="mail")
        with tenant_context(b):
            enqueue(note_tenant, "hello")  # picks up the current tenant by itself
        job = enqueue(note_tenant, "again", tenant_id=a.id)
        worker = make_worker(app)
        assert worker.work(burst=True)
        job.refresh()
        assert job.return_value() == a.slug
    assert sorted(outbox(app, a)) == [
        ("owner@alpha.test", "Welcome to your new shop, Alpha"),
        ("probe@example.com", f"{a.slug}:again"),
    ]
    assert outbox(app, b) == [("probe@example.com", f"{b.slug}:hello")]


def test_flask_worker_command_in_a_separate_process(app, make_tenant):
    tenant = make_tenant(name="Gamma")
    with app.app_context():
        enqueue(send_welcome_email, "owner@gamma.test", tenant_id=tenant.id, queue="mail")
        enqueue(send_welcome_email, "owner@gamma.test", tenant_id=tenant.id, queue="mail")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "saas", "worker", "--burst"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # Ran twice (as a retry would), mailed once: the welcome email is idempotent.
    assert outbox(app, tenant) == [("owner@gamma.test", "Welcome to your new shop, Gamma")]
    assert f"[shop={tenant.slug}]" in result.stderr  # its log lines name the shop


def test_job_for_a_deleted_shop_is_skipped(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        job = enqueue(note_tenant, "late", tenant_id=tenant.id)
        db.session.get(Tenant, tenant.id).status = TenantStatus.DELETED
        db.session.commit()
        make_worker(app).work(burst=True)
        job.refresh()
        assert job.get_status() == "finished" and job.return_value() is None
    assert outbox(app, tenant) == []
