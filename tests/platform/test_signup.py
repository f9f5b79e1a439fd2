"""Merchant signup on the apex: pricing, the form, the new shop, the hand-off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, text

from saas.db import db
from saas.models import AuditEvent, HandoffToken, Plan, Subscription, Tenant
from saas.outbox import OutboxMessage
from saas.platform import shop_signup as service
from saas.ratelimit import RULES
from saas.tenancy import tenant_context
from tenants.staff.models import Role, Staff
from tests.conftest import client_for

PASSWORD = "velvet-canyon-orbit-19"


def form(**overrides: str) -> dict[str, str]:
    slug = overrides.pop("slug", f"new{uuid.uuid4().hex[:8]}")
    data = {
        "shop_name": "Fern & Fig",
        "slug": slug,
        "owner_name": "Fern Figueroa",
        "email": f"{slug}@example.com",
        "email_confirm": f"{slug}@example.com",
        "password": PASSWORD,
        "signup_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def tenant_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Tenant.id))) or 0


def schema_exists(app, schema: str) -> bool:
    with app.app_context():
        return bool(
            db.session.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema})
        )


@pytest.fixture(autouse=True)
def _no_signup_limit(app, monkeypatch):
    """Most tests sign up many times from one address; the limit has its own test."""
    limiter = app.extensions["limiter"]
    for name in ("locked", "count"):
        real = getattr(limiter, name)
        monkeypatch.setattr(
            limiter,
            name,
            lambda action, account=None, real=real: (
                None if action == "signup" else real(action, account)
            ),
        )


def test_pricing_lists_the_offered_plans_from_the_database(app, platform_client):
    code = f"p{uuid.uuid4().hex[:6]}"
    with app.app_context():
        db.session.add_all(
            [
                Plan(code=code, name="Artisan Plus", price_cents=4200, trial_days=21,
                     max_products=300, max_staff=4, max_domains=2, transaction_fee_bps=150),
                Plan(code=code + "x", name="Old Retired Plan", price_cents=100,
                     retired_at=datetime.now(UTC)),
            ]
        )  # fmt: skip
        db.session.commit()
    page = platform_client.get("/pricing").get_data(as_text=True)
    assert "Artisan Plus" in page
    assert "$42.00" in page and "21-day free trial" in page
    assert "Up to 300 products" in page and "4 staff accounts" in page
    assert "1.5% transaction fee" in page
    assert "Old Retired Plan" not in page


@pytest.mark.smoke
def test_signup_creates_a_live_shop_with_its_owner_logged_in_on_its_host(app, platform_client):
    data = form(slug=f"fern{uuid.uuid4().hex[:6]}")
    response = platform_client.post("/signup", data=data)
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.netloc == f"{data['slug']}.localhost"
    assert location.path == "/admin/enter"
    token = parse_qs(location.query)["token"][0]

    # The hand-off logs the owner in on the shop's own host, once.
    shop = client_for(app, location.netloc)
    entered = shop.get(f"/admin/enter?token={token}")
    assert entered.status_code == 302 and entered.headers["Location"].endswith("/admin/")
    assert "Welcome to Fern &amp; Fig" in shop.get("/admin/").get_data(as_text=True)
    assert client_for(app, location.netloc).get(f"/admin/enter?token={token}").status_code == 400

    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == data["slug"]))
        assert tenant.status == "active" and tenant.name == "Fern & Fig"
        assert tenant.launched_at is None  # "coming soon" until the merchant launches
        sub = db.session.scalar(select(Subscription).where(Subscription.tenant_id == tenant.id))
        assert sub.status == "trialing" and sub.plan.is_default
        assert sub.trial_ends_at - datetime.now(UTC) > timedelta(days=sub.plan.trial_days - 1)
        handoff = db.session.scalar(select(HandoffToken).where(HandoffToken.tenant_id == tenant.id))
        assert handoff.purpose == "signup" and handoff.used_at is not None  # spent above
        assert handoff.token_hash != token  # only the hash is stored
        assert handoff.expires_at - datetime.now(UTC) <= timedelta(seconds=60)
        events = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.tenant_id == tenant.id)
        ).all()
        assert "tenant.signed_up" in events
        with tenant_context(tenant):
            owner = db.session.scalar(select(Staff))
            assert (owner.email, owner.role, owner.status) == (data["email"], Role.OWNER, "active")
            assert owner.password_hash.startswith("$argon2id$")

    # The welcome email is a job: a real worker sends it into the new shop's outbox.
    from saas.jobs import make_worker

    make_worker(app).work(burst=True)
    with app.app_context(), tenant_context(tenant):
        subjects = db.session.scalars(select(OutboxMessage.subject)).all()
        assert any("Welcome" in s for s in subjects)


@pytest.mark.smoke
def test_the_same_form_submitted_twice_makes_one_shop(app, platform_client):
    data = form()
    first = platform_client.post("/signup", data=data)
    second = platform_client.post("/signup", data=data)
    assert first.status_code == second.status_code == 303
    assert urlsplit(second.headers["Location"]).netloc == f"{data['slug']}.localhost"
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(Tenant.id)).where(Tenant.slug == data["slug"])) == 1
        )
    # ... but a replay with another password cannot use the first submit's shop.
    third = platform_client.post("/signup", data={**data, "password": "other-" + PASSWORD})
    assert third.status_code == 400
    assert "already completed" in third.get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "admin", "reserved by the platform"),
        ("slug", "Bad Slug!", "lowercase letters, digits and hyphens"),
        ("slug", "ab", "at least 3 characters"),
        ("slug", "-edge", "starting and ending"),
        ("password", "short", "at least 10 characters"),
        ("password", "password123", "leaked passwords"),
        ("password", "fernfigueroa1", "too easy to guess"),
        ("email_confirm", "someone-else@example.com", "do not match"),
        ("email", "not-an-email", "Enter an email address like name@example.com."),
        ("shop_name", "", "shop's name"),
    ],
)
def test_bad_input_is_explained_on_the_form_and_creates_nothing(
    app, platform_client, field, value, message
):
    before = tenant_count(app)
    data = form(**{field: value})
    response = platform_client.post("/signup", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page.replace("&#39;", "'")
    assert f'id="{field}-error"' in page
    assert 'value="Fern Figueroa"' in page  # what was typed is kept
    assert PASSWORD not in page  # ... except the password
    assert tenant_count(app) == before


def test_a_taken_address_is_refused(app, platform_client, make_tenant):
    taken = make_tenant()
    before = tenant_count(app)
    response = platform_client.post("/signup", data=form(slug=taken.slug))
    assert response.status_code == 400
    assert "already taken" in response.get_data(as_text=True)
    assert tenant_count(app) == before


def test_a_failure_at_any_step_leaves_no_half_made_shop(app, platform_client, monkeypatch):
    data = form()

    def broken_trial(tenant, plan=None):
        raise RuntimeError("billing is down")

    monkeypatch.setattr(service, "start_trial", broken_trial)
    with pytest.raises(RuntimeError):
        platform_client.post("/signup", data=data)
    with app.app_context():
        assert db.session.scalar(select(Tenant).where(Tenant.slug == data["slug"])) is None
        next_id = db.session.scalar(select(func.max(Tenant.id))) or 0
    # No schema of any id around the failed one was left behind.
    assert not any(schema_exists(app, f"t_{i}") for i in range(next_id + 1, next_id + 3))


def test_address_check_answers_for_the_live_field(app, platform_client, make_tenant):
    taken = make_tenant()
    free = platform_client.get("/signup/check?slug=brand-new-shop-name").get_json()
    assert free == {"slug": "brand-new-shop-name", "available": True, "message": "Available"}
    used = platform_client.get(f"/signup/check?slug={taken.slug}").get_json()
    assert used["available"] is False and "already taken" in used["message"]
    reserved = platform_client.get("/signup/check?slug=www").get_json()
    assert reserved["available"] is False and "reserved" in reserved["message"]
    suggested = platform_client.get("/signup/check?name=Café Ünïcorn %26 Co").get_json()
    assert suggested["slug"] == "cafe-unicorn-co"


def test_signup_is_rate_limited_per_address(app, platform_client, monkeypatch):
    monkeypatch.undo()  # the real limiter
    monkeypatch.setitem(RULES, "signup", [("ip", "2/hour")])  # two shops, not ten, to make
    client_ip = {"REMOTE_ADDR": f"10.9.{uuid.uuid4().int % 250}.7"}

    def post(**fields: str):
        return platform_client.post("/signup", data=form(**fields), environ_base=client_ip)

    # Mistakes in the form never count: fixing typos never locks anyone out.
    assert {post(password="x").status_code for _ in range(15)} == {400}
    assert {post(email="not-an-email").status_code for _ in range(5)} == {400}
    # Shops created do.
    assert [post().status_code for _ in range(2)] == [303, 303]
    before = tenant_count(app)
    limited = post(shop_name="Third Shop")
    assert limited.status_code == 429
    page = limited.get_data(as_text=True)
    assert (
        "Many shops were just created from your network, so signing up is paused. "
        "Try again in 1 hour." in page
    )
    assert 'value="Third Shop"' in page  # what was typed is kept
    assert tenant_count(app) == before
    # Another address signs up as usual.
    other = {"REMOTE_ADDR": f"10.8.{uuid.uuid4().int % 250}.7"}
    assert platform_client.post("/signup", data=form(), environ_base=other).status_code == 303


def test_two_submits_racing_make_one_shop(app):
    """A double click sends two requests at once: both land in the same single shop."""
    import threading

    data = form()
    results: list[int] = []
    barrier = threading.Barrier(2)

    def submit() -> None:
        client = client_for(app, "localhost")
        barrier.wait()
        results.append(client.post("/signup", data=data).status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [303, 303]
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(Tenant.id)).where(Tenant.slug == data["slug"])) == 1
        )
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == data["slug"]))
        assert (
            db.session.scalar(
                select(func.count(Subscription.id)).where(Subscription.tenant_id == tenant_id)
            )
            == 1
        )
