"""One unit of work: a request, a job or a `tenant_context` block commits once, at its
edge, or rolls back; what waits for the commit (jobs, mail, cache bumps) runs only then."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Response
from sqlalchemy import select

from saas import create_app, mail
from saas.db import after_commit, atomic, db
from saas.jobs import enqueue, get_queue, make_worker
from saas.mail import send_email
from saas.outbox import OutboxMessage
from saas.tenancy import current_tenant, tenant_context
from saas.tenancy.sites import SiteBlueprint
from tenants.catalog.models import Product
from tenants.catalog.products import create_product
from tests.conftest import client_for

pytestmark = pytest.mark.smoke

probe = SiteBlueprint("uow_probe", __name__, site="shop", url_prefix="/uow-probe")


def mail_job(subject: str) -> None:
    """A job that leaves a trace in the shop it ran for."""
    send_email("probe@example.com", subject, "probe")


@probe.post("/ok/<title>")
def written(title: str) -> str:
    create_product(title, 1000)
    enqueue(mail_job, f"job for {title}")
    return "ok"


@probe.post("/fails/<title>")
def fails_after_the_service(title: str) -> str:
    create_product(title, 1000)  # the service flushed: the rows are in the transaction
    enqueue(mail_job, f"job for {title}")
    raise RuntimeError("the view breaks after the service call")


@probe.post("/refused/<title>")
def refused_inside_atomic(title: str) -> str:
    try:
        with atomic():
            create_product(f"{title} (refused)", 1000)
            enqueue(mail_job, f"job for {title} (refused)")
            raise ValueError("the service refuses half-way")
    except ValueError:
        pass
    create_product(title, 1000)  # the unit goes on without the refused part
    return "kept"


@probe.post("/bad-request/<title>")
def answers_400(title: str) -> Response:
    create_product(title, 1000)  # a returned response commits, whatever its status
    return Response("refused", status=400)


@pytest.fixture(scope="module")
def probe_app(server_urls: dict[str, str], app: Any) -> Any:
    probe_app = create_app(
        {
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,  # a view's exception answers 500, as in production
            "WTF_CSRF_ENABLED": False,
            "PUBLIC_PORT": "",
            "PAGE_CACHE_ENABLED": False,
        }
    )
    probe_app.register_blueprint(probe)
    yield probe_app
    with probe_app.app_context():
        db.engine.dispose()


def titles(app: Any, tenant: Any) -> list[str]:
    with app.app_context(), tenant_context(tenant):
        return sorted(db.session.scalars(select(Product.title)))


def queued_descriptions(app: Any) -> list[str]:
    with app.app_context():
        return [job.description for job in get_queue().get_jobs()]


def empty_queue(app: Any) -> None:
    with app.app_context():
        get_queue().empty()


def test_a_view_that_returns_commits_and_then_queues_its_job(probe_app, make_tenant):
    shop = make_tenant()
    empty_queue(probe_app)
    client = client_for(probe_app, f"{shop.slug}.localhost")
    assert client.post("/uow-probe/ok/Kept").status_code == 200
    assert titles(probe_app, shop) == ["Kept"]
    assert len(queued_descriptions(probe_app)) == 1


def test_an_exception_in_a_view_after_a_service_call_leaves_nothing_written(probe_app, make_tenant):
    shop = make_tenant()
    empty_queue(probe_app)
    client = client_for(probe_app, f"{shop.slug}.localhost")
    assert client.post("/uow-probe/fails/Ghost").status_code == 500
    assert titles(probe_app, shop) == []
    assert queued_descriptions(probe_app) == []  # its job was never queued


def test_atomic_undoes_only_the_refused_part(probe_app, make_tenant):
    shop = make_tenant()
    empty_queue(probe_app)
    client = client_for(probe_app, f"{shop.slug}.localhost")
    assert client.post("/uow-probe/refused/Half").text == "kept"
    assert titles(probe_app, shop) == ["Half"]
    assert queued_descriptions(probe_app) == []


def test_a_returned_error_page_still_commits(probe_app, make_tenant):
    # What a view chose to answer is its outcome (a failed-login counter must stick).
    shop = make_tenant()
    client = client_for(probe_app, f"{shop.slug}.localhost")
    assert client.post("/uow-probe/bad-request/Counted").status_code == 400
    assert titles(probe_app, shop) == ["Counted"]


def test_a_job_enqueued_in_a_transaction_that_rolls_back_never_runs(app, make_tenant):
    shop = make_tenant()
    empty_queue(app)
    with app.app_context():
        with pytest.raises(RuntimeError), tenant_context(shop):
            create_product("Rolled back", 500)
            enqueue(mail_job, "never")
            raise RuntimeError("the unit fails")
        with tenant_context(shop):
            create_product("Committed", 500)
            enqueue(mail_job, "once committed")
        assert make_worker(app).work(burst=True)
    assert titles(app, shop) == ["Committed"]
    with app.app_context(), tenant_context(shop):
        subjects = list(db.session.scalars(select(OutboxMessage.subject)))
    assert subjects == ["once committed"]


def test_after_commit_callbacks_run_once_per_key_and_never_on_rollback(app, make_tenant):
    shop = make_tenant()
    ran: list[str] = []
    with app.app_context():
        with tenant_context(shop):
            db.session.scalar(select(Product.id))  # a transaction is open
            after_commit(lambda: ran.append(f"bump {current_tenant.slug}"), key="bump")
            after_commit(lambda: ran.append("bump again"), key="bump")
            assert ran == []  # not before the commit
        assert ran == [f"bump {shop.slug}"]
        with pytest.raises(LookupError), tenant_context(shop):
            db.session.scalar(select(Product.id))
            after_commit(lambda: ran.append("rolled back"))
            raise LookupError
    assert ran == [f"bump {shop.slug}"]


def test_a_failing_callback_does_not_stop_the_others(app, make_tenant, caplog):
    shop = make_tenant()
    ran: list[str] = []

    def broken() -> None:
        raise OSError("cache down")

    with app.app_context(), tenant_context(shop):
        db.session.scalar(select(Product.id))
        after_commit(broken)
        after_commit(lambda: ran.append("still runs"))
    assert ran == ["still runs"]
    assert "after-commit callback" in caplog.text


def test_mail_is_delivered_once_its_unit_commits_and_never_after_a_rollback(
    app, make_tenant, monkeypatch
):
    shop = make_tenant()
    delivered: list[str] = []
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://mail.invalid:25")
    monkeypatch.setattr(mail, "_deliver", lambda url, to, subject, body: delivered.append(subject))
    with app.app_context():
        with pytest.raises(RuntimeError), tenant_context(shop):
            send_email("a@example.com", "rolled back", "x")
            assert delivered == []  # recorded, not sent before the commit
            raise RuntimeError
        with tenant_context(shop):
            send_email("a@example.com", "committed", "x")
            assert delivered == []
        assert delivered == ["committed"]
        with tenant_context(shop):
            rows = db.session.execute(select(OutboxMessage.subject, OutboxMessage.sent_at)).all()
    assert [(subject, sent is not None) for subject, sent in rows] == [("committed", True)]
