"""The operator console: two-step sign-in with TOTP, who may open it, the shop list,
plans and the audit log."""

from __future__ import annotations

import itertools
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask import g
from sqlalchemy import select, update

from saas.auth import load_user
from saas.db import db
from saas.models import AuditEvent, Operator, Plan, Tenant, TenantStatus
from saas.plans import start_trial
from saas.tenancy.sites import classify_host
from tests.conftest import OPERATOR_PASSWORD, log_in_as

_ips = itertools.count(1)


def fresh_ip(client) -> str:
    """Give `client` an address of its own: login rate limits count per IP."""
    n = next(_ips)
    ip = f"10.{uuid.uuid4().int % 200}.{n // 250}.{n % 250 + 1}"
    client.environ_base["REMOTE_ADDR"] = ip
    return ip


def password_step(client, email, password=OPERATOR_PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def sign_in(client, operator, code=None):
    """Both steps, with the operator's current code. Returns the code step's response."""
    fresh_ip(client)
    response = password_step(client, operator.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login/verify")
    return client.post(
        "/login/verify", data={"code": code or pyotp.TOTP(operator.totp_secret).now()}
    )


def as_operator(client, operator):
    """A console session for `operator` without the form (as saas.auth writes it)."""
    log_in_as(client, f"op:{operator.id}:1")
    return client


def events(app, action, **where):
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.action == action)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        rows = db.session.scalars(query.order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return rows


# --- sign-in --------------------------------------------------------------------------


def test_sign_in_needs_password_then_code(app, console_client, make_operator):
    operator = make_operator()
    fresh_ip(console_client)
    assert "Sign in to the operator console" in console_client.get("/login").text
    response = password_step(console_client, operator.email)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/verify")
    # Half-way is not signed in: every console page still sends to the sign-in page.
    for path in ("/", "/plans", "/audit", "/tenants/1"):
        blocked = console_client.get(path)
        assert blocked.status_code == 302 and "/login" in blocked.headers["Location"], path
    assert "Enter your verification code" in console_client.get("/login/verify").text

    response = console_client.post(
        "/login/verify", data={"code": pyotp.TOTP(operator.totp_secret).now()}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    page = console_client.get("/")
    assert page.status_code == 200 and "<h1>Shops</h1>" in page.text
    for link in ("Shops", "Plans", "Audit log", "Sign out"):
        assert link in page.text
    with app.app_context():
        row = db.session.get(Operator, operator.id)
        assert row.last_login_at is not None and row.totp_last_step is not None
    [login] = events(app, "operator.login", actor_id=operator.id)
    assert login.actor_type == "operator" and login.ip and login.tenant_id is None


def test_sign_in_returns_to_the_page_asked_for_on_this_host_only(console_client, make_operator):
    operator = make_operator()
    fresh_ip(console_client)
    blocked = console_client.get("/plans")
    assert blocked.status_code == 302 and "next=%2Fplans" in blocked.headers["Location"]
    form = console_client.get(blocked.headers["Location"]).text
    assert 'name="next" value="/plans"' in form
    console_client.post(
        "/login", data={"email": operator.email, "password": OPERATOR_PASSWORD, "next": "/plans"}
    )
    response = console_client.post(
        "/login/verify", data={"code": pyotp.TOTP(operator.totp_secret).now()}
    )
    assert response.headers["Location"] == "/plans"
    other = make_operator()
    console_client.post("/logout")
    console_client.post(
        "/login",
        data={"email": other.email, "password": OPERATOR_PASSWORD, "next": "//evil.example/x"},
    )
    response = console_client.post(
        "/login/verify", data={"code": pyotp.TOTP(other.totp_secret).now()}
    )
    assert response.headers["Location"] == "/"


def test_session_is_rotated_at_sign_in(console_client, make_operator):
    operator = make_operator()
    fresh_ip(console_client)
    console_client.get("/login")
    with console_client.session_transaction(base_url="http://admin.localhost") as session:
        session["planted"] = "by an attacker"
    password_step(console_client, operator.email)
    console_client.post("/login/verify", data={"code": pyotp.TOTP(operator.totp_secret).now()})
    with console_client.session_transaction(base_url="http://admin.localhost") as session:
        assert "planted" not in session and "console_pending" not in session
        assert session["_user_id"] == f"op:{operator.id}:1"


def test_wrong_code_is_refused_and_audited(app, console_client, make_operator):
    operator = make_operator()
    fresh_ip(console_client)
    password_step(console_client, operator.email)
    good = pyotp.TOTP(operator.totp_secret).now()
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for code in (wrong, "12ab56", ""):
        response = console_client.post("/login/verify", data={"code": code})
        assert response.status_code == 401
        assert "That code is not right" in response.text
        assert 'role="alert"' in response.text and 'aria-describedby="code-error"' in response.text
    assert console_client.get("/").status_code == 302
    failed = events(app, "operator.login_failed", actor_id=operator.id)
    assert len(failed) == 3 and all(e.detail["step"] == "totp" for e in failed)


def test_a_code_is_never_accepted_twice(app, console_client, client_for_console, make_operator):
    operator = make_operator()
    code = pyotp.TOTP(operator.totp_secret).now()
    assert sign_in(console_client, operator, code).status_code == 302
    # Someone who saw the code (and knows the password) tries it from another browser.
    other = client_for_console()
    response = sign_in(other, operator, code)
    assert response.status_code == 401
    assert "already been used" in response.text
    assert other.get("/").status_code == 302
    # So is a code of an earlier step, still inside the drift window.
    secret = pyotp.TOTP(operator.totp_secret)
    earlier = secret.at(datetime.now(UTC) - timedelta(seconds=30))
    if earlier != code:
        assert "already been used" in other.post("/login/verify", data={"code": earlier}).text
    [replay, *_] = [
        e for e in events(app, "operator.login_failed", actor_id=operator.id) if e.detail["replay"]
    ]
    assert replay.detail["step"] == "totp"


@pytest.fixture
def client_for_console(app):
    from tests.conftest import client_for

    return lambda: client_for(app, "admin.localhost")


def test_pending_step_expires_after_five_minutes(console_client, make_operator):
    operator = make_operator()
    fresh_ip(console_client)
    password_step(console_client, operator.email)
    with console_client.session_transaction(base_url="http://admin.localhost") as session:
        session["console_pending"] = {**session["console_pending"], "at": int(time.time()) - 301}
    response = console_client.post(
        "/login/verify", data={"code": pyotp.TOTP(operator.totp_secret).now()}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert "expired" in console_client.get("/login").text
    assert console_client.get("/").status_code == 302


def test_verify_without_password_step_goes_back_to_login(console_client):
    response = console_client.post("/login/verify", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_wrong_password_and_unknown_email_look_the_same(app, console_client, make_operator):
    operator = make_operator()
    fresh_ip(console_client)
    wrong = password_step(console_client, operator.email, "not the password at all")
    unknown = password_step(console_client, "nobody-here@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert "Email or password is incorrect." in wrong.text

    def page(response, email):  # the CSRF token is signed with a timestamp: ignore it
        return re.sub(r'name="csrf_token" value="[^"]*"', "", response.text.replace(email, ""))

    assert page(wrong, operator.email) == page(unknown, "nobody-here@example.com")
    assert events(app, "operator.login_failed", actor_email="nobody-here@example.com")


def test_login_rate_limit_shows_a_message(console_client, make_operator):
    operator = make_operator()
    fresh_ip(console_client)
    statuses = [
        password_step(console_client, operator.email, f"wrong-{i}").status_code for i in range(8)
    ]
    assert statuses == [401] * 8
    limited = password_step(console_client, operator.email)  # even the right password now
    assert limited.status_code == 429
    assert "Too many failed tries for this account. Try again in 15 minutes." in limited.text
    assert "`flask operator set-password`" in limited.text  # the way out, said
    assert console_client.get("/").status_code == 302


def test_a_locked_out_operator_gets_a_new_password_from_the_servers(
    app, console_client, make_operator
):
    operator = make_operator()
    fresh_ip(console_client)
    for i in range(8):
        password_step(console_client, operator.email, f"wrong-{i}")
    assert password_step(console_client, operator.email).status_code == 429
    short = run(app, "operator", "set-password", operator.email, input="short\nshort\n")
    assert short.exit_code == 2 and "use at least 10 characters" in short.output
    new = "a brand new passphrase"
    result = run(app, "operator", "set-password", operator.email, input=f"{new}\n{new}\n")
    assert result.exit_code == 0, result.output
    assert "signed out" in result.output
    assert events(app, "operator.password_set")[-1].detail["operator"] == operator.email
    assert password_step(console_client, operator.email).status_code == 401  # old one: gone
    assert password_step(console_client, operator.email, new).status_code == 302
    assert run(app, "operator", "set-password", "nobody@example.com", input="x\nx\n").exit_code == 2


def test_failed_sign_ins_say_what_is_left(console_client, make_operator):
    operator = make_operator()
    fresh_ip(console_client)
    texts = [password_step(console_client, operator.email, f"wrong-{i}").text for i in range(8)]
    wrong = "Email or password is incorrect."
    assert wrong in texts[2] and "tries left" not in texts[2]
    assert f"{wrong} 4 tries left before this account is locked for 15 minutes." in texts[3]
    assert "1 try left before this account is locked for 15 minutes." in texts[6]
    assert f"{wrong} Too many failed tries for this account. Try again in 15 minutes." in texts[7]
    # Failed tries only: a right password and code clear the count for next time.
    other = make_operator()
    for i in range(7):
        password_step(console_client, other.email, f"wrong-{i}")
    assert sign_in(console_client, other).status_code == 302
    console_client.post("/logout")
    again = password_step(console_client, other.email, "wrong-again")
    assert again.status_code == 401 and "tries left" not in again.text


def test_totp_rate_limit(console_client, make_operator):
    operator = make_operator()
    fresh_ip(console_client)
    password_step(console_client, operator.email)
    texts = []
    for _ in range(6):
        wrong = console_client.post("/login/verify", data={"code": "000000"})
        assert wrong.status_code == 401
        texts.append(wrong.text)
    assert "3 tries left before this account is locked for 15 minutes." in texts[2]
    assert "Too many failed tries for this account. Try again in 15 minutes." in texts[5]
    limited = console_client.post(
        "/login/verify", data={"code": pyotp.TOTP(operator.totp_secret).now()}
    )
    assert limited.status_code == 429
    assert "Too many failed tries for this account. Try again in 15 minutes." in limited.text
    assert console_client.get("/").status_code == 302


def test_operator_without_totp_cannot_finish(app, console_client):
    from saas.passwords import hash_password

    email = f"no2fa-{uuid.uuid4().hex[:6]}@example.com"
    with app.app_context():
        db.session.add(Operator(email=email, name="No", password_hash=hash_password("x" * 12)))
        db.session.commit()
    fresh_ip(console_client)
    password_step(console_client, email, "x" * 12)
    response = console_client.get("/login/verify")
    assert response.status_code == 403 and "reset-totp" in response.text
    assert console_client.get("/").status_code == 302


def test_sign_out_ends_the_session(app, console_client, make_operator):
    operator = make_operator()
    sign_in(console_client, operator)
    cookie = console_client.get_cookie("session", domain="admin.localhost").value
    response = console_client.post("/logout")
    assert response.status_code == 302
    assert console_client.get("/").status_code == 302
    assert events(app, "operator.logout", actor_id=operator.id)
    # A copy of the cookie taken before signing out no longer opens the console.
    console_client.set_cookie("session", cookie, domain="admin.localhost")
    assert console_client.get("/").status_code == 302


# --- doors ----------------------------------------------------------------------------


def test_a_staff_session_is_refused_on_the_console(console_client, make_tenant, make_staff):
    tenant = make_tenant()
    owner = make_staff(tenant, role="owner")
    log_in_as(console_client, owner.user_id)
    for path in ("/", "/plans", "/audit", f"/tenants/{tenant.id}"):
        response = console_client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    refused = console_client.post(f"/tenants/{tenant.id}/suspend", data={"reason": "x"})
    assert refused.status_code == 302
    with console_client.application.app_context():
        assert db.session.get(Tenant, tenant.id).status == TenantStatus.ACTIVE


def test_an_operator_session_is_worthless_on_a_shop(
    app, console_client, shop_client, make_operator, make_tenant
):
    operator = make_operator()
    tenant = make_tenant()
    response = sign_in(console_client, operator)
    set_cookie = response.headers["Set-Cookie"]
    assert "Domain=" not in set_cookie and "HttpOnly" in set_cookie  # host-only
    cookie = console_client.get_cookie("session", domain="admin.localhost").value
    # The cookie itself, replayed on the shop, is not even readable there (host-bound).
    shop = shop_client(tenant)
    shop.set_cookie("session", cookie, domain=f"{tenant.slug}.localhost")
    with shop.session_transaction(base_url=f"http://{tenant.slug}.localhost") as session:
        assert "_user_id" not in session
    # And an `op:` id written into a shop session loads nobody there.
    log_in_as(shop, f"op:{operator.id}:1")
    admin = shop.get("/admin/")
    assert admin.status_code != 200 and "Operator session" not in admin.text
    with app.test_request_context("/", base_url=f"http://{tenant.slug}.localhost"):
        g.site = classify_host(f"{tenant.slug}.localhost", "localhost", "admin")
        assert load_user(f"op:{operator.id}:1") is None


# --- the shop list --------------------------------------------------------------------


@pytest.fixture
def operator_client(console_client, make_operator):
    return as_operator(console_client, make_operator())


def plan_id(app, code):
    with app.app_context():
        return db.session.scalar(select(Plan.id).where(Plan.code == code))


def put_on_plan(app, tenant, code):
    with app.app_context():
        row = db.session.get(Tenant, tenant.id)
        start_trial(row, db.session.scalar(select(Plan).where(Plan.code == code)))
        db.session.commit()


def test_list_search_and_filters(app, operator_client, make_tenant):
    tag = uuid.uuid4().hex[:6]
    a = make_tenant(name=f"Alpha {tag}", owner_email=f"alice-{tag}@example.com")
    b = make_tenant(name=f"Beta {tag}")
    c = make_tenant(name=f"Gamma {tag}")
    put_on_plan(app, a, "growth")
    put_on_plan(app, b, "starter")
    with app.app_context():
        db.session.get(Tenant, c.id).status = TenantStatus.SUSPENDED
        old = db.session.get(Tenant, b.id)
        old.created_at = datetime(2020, 5, 17, 12, tzinfo=UTC)
        db.session.commit()

    page = operator_client.get(f"/?q={tag}")
    assert page.status_code == 200 and "3 shops" in page.text
    assert f'href="http://{a.slug}.localhost/"' in page.text  # the address links to the shop
    assert "Growth" in page.text  # plan column
    assert f"alice-{tag}" not in page.text
    by_owner = operator_client.get(f"/?q=alice-{tag}")
    assert f"Alpha {tag}" in by_owner.text and "1 shop matching" in by_owner.text

    suspended = operator_client.get(f"/?q={tag}&status=suspended").text
    assert f"Gamma {tag}" in suspended and f"Alpha {tag}" not in suspended
    growth = operator_client.get(f"/?q={tag}&plan=growth").text
    assert f"Alpha {tag}" in growth and f"Beta {tag}" not in growth
    dated = operator_client.get(f"/?q={tag}&created_from=2020-05-17&created_to=2020-05-17").text
    assert f"Beta {tag}" in dated and f"Alpha {tag}" not in dated
    since = operator_client.get(f"/?q={tag}&created_from=2021-01-01").text
    assert f"Beta {tag}" not in since and "2 shops" in since

    bad = operator_client.get(f"/?q={tag}&created_from=yesterday")
    assert bad.status_code == 400 and "must be a date" in bad.text
    assert "No shop matches" in operator_client.get("/?q=zzz-no-such-shop").text


def test_sort_by_last_activity(app, operator_client, make_tenant):
    tag = uuid.uuid4().hex[:6]
    quiet = make_tenant(name=f"Quiet {tag}")
    busy = make_tenant(name=f"Busy {tag}")
    with app.app_context():
        db.session.get(Tenant, busy.id).last_active_at = datetime.now(UTC)
        db.session.get(Tenant, quiet.id).last_active_at = datetime.now(UTC) - timedelta(days=3)
        db.session.commit()
    text = operator_client.get(f"/?q={tag}&sort=activity").text
    assert text.index(f"Busy {tag}") < text.index(f"Quiet {tag}")
    text = operator_client.get(f"/?q={tag}&sort=created_asc").text
    assert text.index(f"Quiet {tag}") < text.index(f"Busy {tag}")


def test_deleted_shops_are_listed_only_when_asked(app, operator_client, make_tenant):
    tag = uuid.uuid4().hex[:6]
    make_tenant(name=f"Live {tag}")
    gone = make_tenant(name=f"Gone {tag}")
    with app.app_context():
        db.session.get(Tenant, gone.id).status = TenantStatus.DELETED
        db.session.commit()
    listed = operator_client.get(f"/?q={tag}").text
    assert f"Live {tag}" in listed and f"Gone {tag}" not in listed
    deleted = operator_client.get(f"/?q={tag}&status=deleted").text
    assert f"Gone {tag}" in deleted and f"Live {tag}" not in deleted


def test_pagination_keeps_the_filters(app, operator_client, make_tenant):
    tag = uuid.uuid4().hex[:6]
    for i in range(27):
        make_tenant(slug=f"pg{tag}{i:02d}", name=f"Paged {tag} {i:02d}")
    first = operator_client.get(f"/?q={tag}&sort=created_asc")
    assert "27 shops" in first.text and "Page 1 of 2" in first.text
    assert first.text.count(f"Paged {tag}") == 25
    link = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
    assert f"q={tag}" in link and "sort=created_asc" in link and "page=2" in link
    second = operator_client.get(link)
    assert second.text.count(f"Paged {tag}") == 2
    assert f"Paged {tag} 26" in second.text and f"Paged {tag} 00" not in second.text
    assert 'rel="prev"' in second.text


# --- the shop page --------------------------------------------------------------------


def test_tenant_page_shows_plan_usage_domains_staff_and_events(
    app, operator_client, make_tenant, make_staff
):
    tenant = make_tenant(
        name="Detail Shop",
        products=[("Mug", 900), ("Cap", 1500)],
        domains=[f"{uuid.uuid4().hex[:6]}.example.org"],
    )
    put_on_plan(app, tenant, "starter")
    make_staff(tenant, role="owner")
    make_staff(tenant, status="invited")
    with app.app_context():
        for i in range(22):
            db.session.add(
                AuditEvent(tenant_id=tenant.id, actor_type="system", action=f"test.event{i:02d}")
            )
        db.session.commit()
        host = db.session.get(Tenant, tenant.id).domains[0].host
    page = operator_client.get(f"/tenants/{tenant.id}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Detail Shop" in text and "Starter" in text and "trialing" in text
    assert re.search(r"<td>Products</td><td>2</td><td>50</td>", text)
    # owner + invited
    assert re.search(r"<td>Staff seats</td><td>2 \(at the limit\)</td><td>2</td>", text)
    assert host in text and "1 active, 1 invited" in text
    assert "Launched" in text and "Yes," in text
    assert "test.event21" in text and "test.event01" not in text  # last 20 only
    assert f'href="/audit?tenant={tenant.id}"' in text
    assert operator_client.get("/tenants/999999999").status_code == 404


# --- plans ----------------------------------------------------------------------------


@pytest.fixture
def restore_default_plan(app):
    with app.app_context():
        default = db.session.scalar(select(Plan.id).where(Plan.is_default.is_(True)))
    yield
    with app.app_context():
        db.session.execute(update(Plan).values(is_default=False))
        db.session.execute(update(Plan).where(Plan.id == default).values(is_default=True))
        db.session.commit()


def plan_form(**overrides):
    data = {
        "code": f"p{uuid.uuid4().hex[:6]}",
        "name": "Test plan",
        "price": "19.99",
        "currency": "usd",
        "trial_days": "30",
        "max_products": "200",
        "max_staff": "",
        "max_domains": "2",
        "fee_percent": "1.5",
        "sort_order": "9",
    }
    data.update(overrides)
    return data


def test_create_plan_and_it_lists(app, operator_client):
    data = plan_form(name="Artisan")
    response = operator_client.post("/plans/new", data=data)
    assert response.status_code == 302
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.code == data["code"]))
        assert (plan.price_cents, plan.trial_days, plan.max_products, plan.max_staff) == (
            1999,
            30,
            200,
            None,
        )
        assert plan.max_domains == 2 and plan.transaction_fee_bps == 150 and not plan.is_default
    listing = operator_client.get("/plans").text
    assert "Artisan" in listing and "$19.99" in listing and "1.5 %" in listing
    [created] = events(app, "plan.created")[-1:]
    assert created.detail["plan"] == data["code"] and created.actor_type == "operator"


def test_plan_form_validation_keeps_values_and_saves_nothing(app, operator_client):
    data = plan_form(
        code="Bad Code!",
        name="",
        price="12.345",
        currency="dollars",
        trial_days="400",
        max_products="-1",
        fee_percent="150",
        sort_order="x",
    )
    response = operator_client.post("/plans/new", data=data)
    assert response.status_code == 400
    text = response.text
    for message in (
        "Use lowercase letters, digits and hyphens",
        "Enter the name merchants see.",
        "“12.345” has too many decimals: the monthly price in USD has at most 2",
        "three-letter currency code",
        "from 0 to 365",
        "Products: enter a whole number",
        "between 0 and 100",
        "Enter a whole number (lower numbers",
    ):
        assert message in text, message
    assert 'value="Bad Code!"' not in text  # shown lowercased as read
    assert 'value="12.345"' in text and 'aria-invalid="true"' in text
    assert 'aria-describedby="price-hint price-error"' in text
    with app.app_context():
        assert db.session.scalar(select(Plan).where(Plan.name == "")) is None
    taken = operator_client.post("/plans/new", data=plan_form(code="starter"))
    assert taken.status_code == 400 and "already uses the code" in taken.text


def test_only_one_default_plan(app, operator_client, restore_default_plan):
    data = plan_form(is_default="1")
    assert operator_client.post("/plans/new", data=data).status_code == 302
    with app.app_context():
        defaults = db.session.scalars(select(Plan.code).where(Plan.is_default.is_(True))).all()
        assert defaults == [data["code"]]
        starter = db.session.scalar(select(Plan).where(Plan.code == "starter"))
    # Making another one the default by editing it moves the flag again.
    edit = plan_form(code="starter", name=starter.name, is_default="on")
    assert operator_client.post(f"/plans/{starter.id}/edit", data=edit).status_code == 302
    with app.app_context():
        defaults = db.session.scalars(select(Plan.code).where(Plan.is_default.is_(True))).all()
        assert defaults == ["starter"]
    [updated] = events(app, "plan.updated")[-1:]
    assert updated.detail["changes"]["is_default"] == [False, True]


def test_edit_plan_form_shows_current_values(app, operator_client):
    pid = plan_id(app, "growth")
    page = operator_client.get(f"/plans/{pid}/edit")
    assert page.status_code == 200
    assert 'value="29.00"' in page.text and 'value="1"' in page.text  # fee 100 bps -> 1 %
    assert '<label for="max_products">Maximum products</label>' in page.text


def test_retire_and_unretire(app, operator_client, restore_default_plan):
    data = plan_form()
    operator_client.post("/plans/new", data=data)
    pid = plan_id(app, data["code"])
    response = operator_client.post(f"/plans/{pid}/retire", follow_redirects=True)
    assert "is retired" in response.text and "Retired" in response.text
    with app.app_context():
        assert db.session.get(Plan, pid).retired_at is not None
    assert events(app, "plan.retired")[-1].detail["plan"] == data["code"]
    # A retired plan is not offered when changing a shop's plan, and cannot be the default.
    edit = operator_client.post(f"/plans/{pid}/edit", data={**data, "is_default": "1"})
    assert edit.status_code == 400 and "retired plan cannot be the default" in edit.text
    response = operator_client.post(f"/plans/{pid}/unretire", follow_redirects=True)
    assert "on offer again" in response.text
    with app.app_context():
        assert db.session.get(Plan, pid).retired_at is None


def test_the_default_plan_cannot_be_retired(app, operator_client):
    with app.app_context():
        default = db.session.scalar(select(Plan).where(Plan.is_default.is_(True)))
    response = operator_client.post(f"/plans/{default.id}/retire", follow_redirects=True)
    assert "is the default plan, so it cannot be retired" in response.text
    with app.app_context():
        assert db.session.get(Plan, default.id).retired_at is None


# --- the audit log --------------------------------------------------------------------


def test_audit_log_filters_and_pagination(app, operator_client, make_tenant):
    a, b = make_tenant(), make_tenant()
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        for i in range(55):
            db.session.add(
                AuditEvent(
                    tenant_id=a.id,
                    actor_type="operator",
                    actor_email=f"ops-{tag}@example.com",
                    action=f"probe{tag}.one",
                    reason=f"because {i}",
                    ip="192.0.2.7",
                )
            )
        db.session.add(
            AuditEvent(
                tenant_id=b.id,
                actor_type="staff",
                actor_email=f"staff-{tag}@example.com",
                action=f"probe{tag}.two",
                detail={"field": "value"},
                created_at=datetime(2021, 3, 4, 5, 6, tzinfo=UTC),
            )
        )
        db.session.commit()

    first = operator_client.get(f"/audit?action=probe{tag}")
    assert "56 events" in first.text and "Page 1 of 2" in first.text
    link = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
    assert f"action=probe{tag}" in link
    assert operator_client.get(link).text.count(f"probe{tag}.") == 6

    by_slug = operator_client.get(f"/audit?tenant={b.slug}&action=probe{tag}").text
    assert "1 event," in by_slug and f"probe{tag}.two" in by_slug
    assert "2021-03-04 05:06:00 UTC" in by_slug and '{"field": "value"}' in by_slug
    by_id = operator_client.get(f"/audit?tenant={a.id}&action=probe{tag}").text
    assert "55 events" in by_id and f"probe{tag}.two" not in by_id
    assert "192.0.2.7" in by_id and "because 54" in by_id
    by_actor = operator_client.get(f"/audit?actor=STAFF-{tag}").text
    assert "1 event," in by_actor
    dated = operator_client.get(
        f"/audit?action=probe{tag}&date_from=2021-03-04&date_to=2021-03-04"
    ).text
    assert "1 event," in dated and f"probe{tag}.two" in dated
    unknown = operator_client.get("/audit?tenant=no-such-shop-here")
    assert unknown.status_code == 400 and "No shop has the id or address" in unknown.text
    assert "No events match" in unknown.text


# --- operator commands ----------------------------------------------------------------


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input, catch_exceptions=False)


def test_operator_create_sets_up_totp_and_the_code_signs_in(app, console_client):
    email = f"cli-{uuid.uuid4().hex[:6]}@example.com"
    password = "a-long-cli-password"
    result = run(app, "operator", "create", email, "--name", "Cli", input=f"{password}\n" * 2)
    assert result.exit_code == 0, result.output
    uri = re.search(r"otpauth://totp/\S+", result.output).group(0)
    secret = re.search(r"Secret: ([A-Z2-7]+)", result.output).group(1)
    assert f"secret={secret}" in uri and "issuer=Storefront" in uri
    assert f"flask operator totp-code {email}" in result.output  # the development hint
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        assert operator.totp_secret == secret

    code = run(app, "operator", "totp-code", email)
    assert code.exit_code == 0 and re.fullmatch(r"\d{6}\n", code.output)
    fresh_ip(console_client)
    password_step(console_client, email, password)
    response = console_client.post("/login/verify", data={"code": code.output.strip()})
    assert response.status_code == 302 and console_client.get("/").status_code == 200


def test_totp_code_is_refused_in_production(app, make_operator):
    operator = make_operator()
    app.config["SAAS_ENV"] = "production"
    try:
        result = run(app, "operator", "totp-code", operator.email)
    finally:
        app.config["SAAS_ENV"] = "development"
    assert result.exit_code == 2 and "refused with SAAS_ENV=production" in result.output
    assert not re.search(r"^\d{6}$", result.output, re.M)
    assert run(app, "operator", "totp-code", "nobody@example.com").exit_code == 2


def test_reset_totp_replaces_the_secret_and_ends_sessions(app, console_client, make_operator):
    operator = make_operator()
    assert sign_in(console_client, operator).status_code == 302
    result = run(app, "operator", "reset-totp", operator.email, "--yes")
    assert result.exit_code == 0, result.output
    new_secret = re.search(r"Secret: ([A-Z2-7]+)", result.output).group(1)
    assert new_secret != operator.totp_secret
    assert console_client.get("/").status_code == 302  # the old session is over
    with app.app_context():
        row = db.session.get(Operator, operator.id)
        assert row.totp_secret == new_secret and row.totp_last_step is None
    assert events(app, "operator.totp_reset")[-1].detail["operator"] == operator.email
    # The old app's codes no longer work; the new secret's do.
    fresh_ip(console_client)
    password_step(console_client, operator.email)
    old = pyotp.TOTP(operator.totp_secret).now()
    if old != pyotp.TOTP(new_secret).now():
        assert console_client.post("/login/verify", data={"code": old}).status_code == 401
    ok = console_client.post("/login/verify", data={"code": pyotp.TOTP(new_secret).now()})
    assert ok.status_code == 302
