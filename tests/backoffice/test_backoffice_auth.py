"""Logging in to a shop's back office: login, logout, password reset and change,
hand-off entry, the access rules on every route, and that none of it crosses shops."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from redis import Redis
from sqlalchemy import select, update

from saas.db import db
from saas.handoff import issue
from saas.jobs import make_worker
from saas.models import AuditEvent, HandoffPurpose, HandoffToken, Tenant
from saas.outbox import OutboxMessage
from saas.passwords import verify_password
from saas.ratelimit import Limiter
from saas.tenancy import tenant_context
from tenants.backoffice.access import PUBLIC, SIGNED_IN
from tenants.staff.models import Area, Staff, StaffToken
from tests.conftest import STAFF_PASSWORD, client_for, log_in_as

NEW_PASSWORD = "copper-willow-tundra-84"
LOGIN_FAILED = "Email or password is incorrect."
RESET_SENT = "If an account exists for that email, we&#39;ve sent a link"
LOCKED = "Too many failed tries for this account. Try again in 15 minutes."
RESET_OFFER = '<a href="/admin/password/forgot">Reset your password to log in now.</a>'


# --- helpers ---------------------------------------------------------------------------


def shop(app, tenant):
    return client_for(app, f"{tenant.slug}.localhost")


def log_in(client, email, password=STAFF_PASSWORD, **extra):
    return client.post("/admin/login", data={"email": email, "password": password, **extra})


def staff_row(app, tenant, staff_id) -> Staff:
    with app.app_context(), tenant_context(tenant):
        staff = db.session.get(Staff, staff_id)
        db.session.expunge(staff)
        return staff


def audit_events(app, tenant, action) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tenant_id == tenant.id, AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


def outbox(app, tenant) -> list[OutboxMessage]:
    with app.app_context(), tenant_context(tenant):
        messages = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return messages


def run_jobs(app) -> None:
    make_worker(app).work(burst=True)


def without_csrf(text: str) -> str:  # the CSRF token is signed with a timestamp
    return re.sub(r'name="csrf_token" value="[^"]*"', "", text)


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


# --- login -----------------------------------------------------------------------------


def test_login_page_and_success(app, make_tenant, make_staff):
    tenant = make_tenant(name="Quince Corner")
    staff = make_staff(tenant, role="owner")
    client = shop(app, tenant)
    page = client.get("/admin/login")
    assert page.status_code == 200
    assert "Log in to Quince Corner" in page.text
    assert '<label for="email">Email</label>' in page.text
    assert 'name="csrf_token"' in page.text
    assert "Forgot your password?" in page.text

    response = log_in(client, staff.email.upper())  # emails are case-insensitive
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert 'href="/admin/account"' in client.get("/admin/").text  # staff see their account link
    assert client.get("/admin/account").status_code == 200
    # Already logged in: the login page sends you on.
    assert client.get("/admin/login").headers["Location"] == "/admin/"

    assert staff_row(app, tenant, staff.id).last_login_at is not None
    [event] = audit_events(app, tenant, "staff.login")
    assert (event.actor_type, event.actor_id, event.actor_email) == ("staff", staff.id, staff.email)
    with app.app_context():
        assert db.session.get(Tenant, tenant.id).last_active_at is not None


def test_unknown_email_and_wrong_password_look_the_same(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    invited = make_staff(tenant, status="invited")
    disabled = make_staff(tenant, status="disabled")
    client = shop(app, tenant)

    wrong = log_in(client, staff.email, "not-the-password-at-all")
    unknown = log_in(client, "nobody@example.com", "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == 401
    assert LOGIN_FAILED in wrong.text
    assert without_csrf(wrong.text).replace(staff.email, "E") == without_csrf(unknown.text).replace(
        "nobody@example.com", "E"
    )
    # Accounts that may not log in are refused in exactly the same words, even with
    # their right password.
    for other in (invited, disabled):
        refused = log_in(client, other.email, other.password)
        assert refused.status_code == 401
        assert without_csrf(refused.text).replace(other.email, "E") == without_csrf(
            unknown.text
        ).replace("nobody@example.com", "E")
    assert is_login_redirect(client.get("/admin/account"))  # still anonymous

    failed = audit_events(app, tenant, "staff.login_failed")
    assert [e.detail["email"] for e in failed] == [
        staff.email,
        "nobody@example.com",
        invited.email,
        disabled.email,
    ]
    assert {(e.actor_type, e.actor_id) for e in failed} == {("visitor", None)}


def test_login_is_rate_limited(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    client = shop(app, tenant)
    for _ in range(8):
        assert log_in(client, staff.email, "wrong-password-guess").status_code == 401
    limited = log_in(client, staff.email)  # even the right password waits now
    assert limited.status_code == 429
    assert LOCKED in limited.text
    assert client.get("/admin/account").status_code == 302


def test_failed_logins_say_what_is_left_and_offer_the_reset(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    client = shop(app, tenant)
    texts = [log_in(client, staff.email, f"wrong-{n}").text for n in range(7)]
    # A first slip says only that it was wrong; from half the tries on, what is left.
    assert LOGIN_FAILED in texts[0] and "tries left" not in texts[0]
    assert f"{LOGIN_FAILED} 4 tries left before this account is locked for 15 minutes." in texts[3]
    assert f"{LOGIN_FAILED} 1 try left before this account is locked for 15 minutes." in texts[6]
    assert RESET_OFFER not in texts[6]
    last = log_in(client, staff.email, "wrong-7")
    assert last.status_code == 401
    assert f"{LOGIN_FAILED} {LOCKED}" in last.text and RESET_OFFER in last.text
    locked = log_in(client, staff.email)
    assert locked.status_code == 429
    assert LOCKED in locked.text and RESET_OFFER in locked.text
    assert LOGIN_FAILED not in locked.text  # nothing was checked
    assert 'role="alert"' in locked.text
    # Only the account is locked: a colleague logs in from the same browser.
    other = make_staff(tenant)
    assert log_in(client, other.email).status_code == 302


def test_a_good_login_forgets_the_failed_ones(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    for _ in range(7):
        assert log_in(shop(app, tenant), staff.email, "wrong-password-guess").status_code == 401
    assert log_in(shop(app, tenant), staff.email).status_code == 302
    again = log_in(shop(app, tenant), staff.email, "wrong-password-guess")
    assert again.status_code == 401 and "tries left" not in again.text


def test_guessing_many_accounts_from_one_address_pauses_that_address(app, make_tenant):
    tenant = make_tenant()
    client = shop(app, tenant)
    texts = [log_in(client, f"guess{n}@example.com", "wrong").text for n in range(20)]
    assert "tries left" not in texts[8]
    assert "10 tries left before tries from your network are paused for 15 minutes." in texts[9]
    assert "Too many failed tries from your network. Try again in 15 minutes." in texts[19]
    paused = log_in(client, "someone-else@example.com")
    assert paused.status_code == 429 and RESET_OFFER in paused.text
    other_address = shop(app, tenant)
    other_address.environ_base["REMOTE_ADDR"] = "10.55.0.9"
    assert log_in(other_address, "guess0@example.com", "wrong").status_code == 401


def test_a_lock_in_one_shop_leaves_the_same_email_free_in_another(app, make_tenant, make_staff):
    shop_a, shop_b = make_tenant(), make_tenant()
    email = f"both-{uuid.uuid4().hex[:8]}@example.com"
    make_staff(shop_a, email=email)
    make_staff(shop_b, email=email)
    for _ in range(8):
        log_in(shop(app, shop_a), email, "wrong-password-guess")
    assert log_in(shop(app, shop_a), email).status_code == 429
    assert "tries left" not in log_in(shop(app, shop_b), email, "wrong-password-guess").text
    assert log_in(shop(app, shop_b), email).status_code == 302


def test_a_password_reset_lifts_the_lock(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    client = shop(app, tenant)
    for _ in range(8):
        log_in(client, staff.email, "wrong-password-guess")
    client.post("/admin/password/forgot", data={"email": staff.email})
    run_jobs(app)
    link = re.search(r"(/admin/password/reset/\S+)", outbox(app, tenant)[-1].body).group(1)
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post(link, data=data).status_code == 302
    client.post("/admin/logout")
    assert log_in(shop(app, tenant), staff.email, NEW_PASSWORD).status_code == 302


def test_rate_limit_still_works_when_redis_is_down(app, make_tenant, make_staff, monkeypatch):
    tenant = make_tenant()
    staff = make_staff(tenant)
    dead = SimpleNamespace(extensions={"redis": Redis.from_url("redis://127.0.0.1:1/0")})
    monkeypatch.setitem(app.extensions, "limiter", Limiter(dead))
    client = shop(app, tenant)
    for _ in range(8):
        assert log_in(client, staff.email, "wrong-password-guess").status_code == 401
    limited = log_in(client, staff.email)
    assert limited.status_code == 429
    assert LOCKED in limited.text
    # A good login before the limit still works with Redis down.
    other = make_staff(tenant)
    assert log_in(shop(app, tenant), other.email).status_code == 302


@pytest.mark.parametrize(
    "target",
    ["//evil.com", "https://evil.com", "/\\evil.com", "http:/evil.com", "javascript:alert(1)"],
)
def test_next_never_leaves_the_shop(app, make_tenant, make_staff, target):
    tenant = make_tenant()
    staff = make_staff(tenant)
    client = shop(app, tenant)
    form = client.get("/admin/login", query_string={"next": target})
    assert "evil" not in form.text and "javascript" not in form.text
    response = log_in(client, staff.email, next=target)
    assert response.headers["Location"] == "/admin/"


def test_next_on_the_same_shop_is_followed(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    client = shop(app, tenant)
    bounce = client.get("/admin/account")
    assert bounce.headers["Location"] == "/admin/login?next=/admin/account"
    form = client.get(bounce.headers["Location"])
    assert 'name="next" value="/admin/account"' in form.text
    assert log_in(client, staff.email, next="/admin/account").headers["Location"] == (
        "/admin/account"
    )


def test_session_is_rotated_at_login(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    client = shop(app, tenant)
    host = f"{tenant.slug}.localhost"
    with client.session_transaction(base_url=f"http://{host}") as session:
        session["planted"] = "by someone else"
    before = client.get_cookie("session", domain=host).value
    log_in(client, staff.email)
    assert client.get_cookie("session", domain=host).value != before
    with client.session_transaction(base_url=f"http://{host}") as session:
        assert "planted" not in session
        assert session["_user_id"] == f"staff:{tenant.id}:{staff.id}:1"


def test_logout_ends_the_session_even_for_a_copied_cookie(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    client = shop(app, tenant)
    log_in(client, staff.email)
    stolen = client.get_cookie("session", domain=f"{tenant.slug}.localhost").value
    response = client.post("/admin/logout")
    assert response.headers["Location"] == "/admin/login"
    assert "You are logged out." in client.get("/admin/login").text
    assert is_login_redirect(client.get("/admin/"))
    replay = shop(app, tenant)
    replay.set_cookie("session", stolen, domain=f"{tenant.slug}.localhost")
    assert is_login_redirect(replay.get("/admin/account"))
    assert client.get("/admin/logout").status_code == 405  # logout is a POST (CSRF-protected)
    assert len(audit_events(app, tenant, "staff.logout")) == 1


# --- own account -----------------------------------------------------------------------


def test_change_password_keeps_this_browser_and_ends_the_others(app, make_tenant, make_staff):
    tenant = make_tenant(name="Larch Lane")
    staff = make_staff(tenant, name="Lara Larch")
    here, elsewhere = shop(app, tenant), shop(app, tenant)
    log_in(here, staff.email)
    log_in(elsewhere, staff.email)

    page = here.get("/admin/account")
    assert "Change password" in page.text
    assert '<label for="current_password">Current password</label>' in page.text

    def change(current, new, confirm=None):
        return here.post(
            "/admin/account",
            data={
                "form": "password",
                "current_password": current,
                "new_password": new,
                "confirm": new if confirm is None else confirm,
            },
        )

    wrong = change("not-my-password", NEW_PASSWORD)
    assert wrong.status_code == 400
    assert "Your current password is not correct." in wrong.text
    weak = change(STAFF_PASSWORD, "password123")
    assert weak.status_code == 400 and "leaked passwords" in weak.text
    mismatch = change(STAFF_PASSWORD, NEW_PASSWORD, "copper-willow-tundra-85")
    assert mismatch.status_code == 400 and "The two passwords do not match." in mismatch.text
    shop_name = change(STAFF_PASSWORD, "larch lane")
    assert shop_name.status_code == 400
    assert verify_password(staff_row(app, tenant, staff.id).password_hash, STAFF_PASSWORD)
    assert elsewhere.get("/admin/account").status_code == 200  # nothing changed yet

    done = change(STAFF_PASSWORD, NEW_PASSWORD)
    assert done.headers["Location"] == "/admin/account"
    page = here.get("/admin/account")
    assert page.status_code == 200 and "Your password was changed." in page.text
    assert is_login_redirect(elsewhere.get("/admin/account"))
    assert log_in(shop(app, tenant), staff.email).status_code == 401
    assert log_in(shop(app, tenant), staff.email, NEW_PASSWORD).status_code == 302
    assert len(audit_events(app, tenant, "staff.password_changed")) == 1


def test_change_name(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant, name="Old Name")
    client = shop(app, tenant)
    log_in(client, staff.email)
    empty = client.post("/admin/account", data={"form": "profile", "name": "  "})
    assert empty.status_code == 400 and "Enter your name." in empty.text
    saved = client.post("/admin/account", data={"form": "profile", "name": "New Name"})
    assert saved.headers["Location"] == "/admin/account"
    assert "Your name was saved." in client.get("/admin/account").text
    assert staff_row(app, tenant, staff.id).name == "New Name"


# --- password reset --------------------------------------------------------------------


def reset_link(app, tenant, email) -> str:
    [message] = [m for m in outbox(app, tenant) if m.to_address == email]
    match = re.search(r"http://[^/\s]+(/admin/password/reset/\S+)", message.body)
    assert match, message.body
    assert f"{tenant.slug}.localhost" in message.body
    return match.group(1)


def test_password_reset_through_the_worker(app, make_tenant, make_staff):
    tenant = make_tenant(name="Birch Books")
    staff = make_staff(tenant)
    other_device = shop(app, tenant)
    log_in(other_device, staff.email)
    client = shop(app, tenant)
    assert "Forgot your password?" in client.get("/admin/login").text
    form = client.get("/admin/password/forgot")
    assert '<label for="email">Email</label>' in form.text

    sent = client.post("/admin/password/forgot", data={"email": staff.email})
    assert sent.status_code == 200 and RESET_SENT in sent.text
    assert outbox(app, tenant) == []  # mail goes out from the job, not the request
    run_jobs(app)
    link = reset_link(app, tenant, staff.email)
    [message] = outbox(app, tenant)
    assert message.subject == "Reset your password for Birch Books"

    page = client.get(link)
    assert page.status_code == 200 and "Choose a new password" in page.text
    assert staff.email in page.text
    weak = client.post(link, data={"password": "password123", "confirm": "password123"})
    assert weak.status_code == 400 and "leaked passwords" in weak.text
    mismatch = client.post(link, data={"password": NEW_PASSWORD, "confirm": "something-else"})
    assert mismatch.status_code == 400 and "The two passwords do not match." in mismatch.text
    assert verify_password(staff_row(app, tenant, staff.id).password_hash, STAFF_PASSWORD)

    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.headers["Location"] == "/admin/"
    assert client.get("/admin/account").status_code == 200  # logged in
    assert is_login_redirect(other_device.get("/admin/account"))  # every other session ended
    assert verify_password(staff_row(app, tenant, staff.id).password_hash, NEW_PASSWORD)
    assert len(audit_events(app, tenant, "staff.password_reset")) == 1

    again = shop(app, tenant).get(link)
    assert again.status_code == 410 and "This password reset link was already used." in again.text
    assert "Request a new reset link" in again.text


def test_expired_and_used_reset_links_change_nothing(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    client = shop(app, tenant)
    client.post("/admin/password/forgot", data={"email": staff.email})
    run_jobs(app)
    link = reset_link(app, tenant, staff.email)
    with app.app_context(), tenant_context(tenant):
        db.session.execute(
            update(StaffToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.session.commit()
    page = client.get(link)
    assert page.status_code == 410 and "This password reset link has expired." in page.text
    post = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert post.status_code == 410
    assert verify_password(staff_row(app, tenant, staff.id).password_hash, STAFF_PASSWORD)
    assert client.get("/admin/account").status_code == 302

    with app.app_context(), tenant_context(tenant):
        db.session.execute(
            update(StaffToken).values(
                expires_at=datetime.now(UTC) + timedelta(hours=1), used_at=datetime.now(UTC)
            )
        )
        db.session.commit()
    used = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert used.status_code == 410 and "already used" in used.text
    assert verify_password(staff_row(app, tenant, staff.id).password_hash, STAFF_PASSWORD)

    nonsense = client.get("/admin/password/reset/not-a-token")
    assert nonsense.status_code == 400 and "not valid" in nonsense.text


def test_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    invited = make_staff(tenant, status="invited")
    client = shop(app, tenant)
    known = client.post("/admin/password/forgot", data={"email": staff.email})
    unknown = client.post("/admin/password/forgot", data={"email": "ghost@example.com"})
    pending = client.post("/admin/password/forgot", data={"email": invited.email})
    assert known.status_code == unknown.status_code == pending.status_code == 200
    assert without_csrf(known.text).replace(staff.email, "E") == without_csrf(unknown.text).replace(
        "ghost@example.com", "E"
    )
    run_jobs(app)
    assert [m.to_address for m in outbox(app, tenant)] == [staff.email]

    bad = client.post("/admin/password/forgot", data={"email": "not an email"})
    assert bad.status_code == 400 and "Enter an email address like" in bad.text


def test_reset_requests_are_rate_limited(app, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    client = shop(app, tenant)
    for _ in range(3):
        assert client.post("/admin/password/forgot", data={"email": staff.email}).status_code == 200
    limited = client.post("/admin/password/forgot", data={"email": staff.email})
    assert limited.status_code == 429 and "Too many attempts" in limited.text
    run_jobs(app)
    # A newer link replaces the older ones: only the last one works.
    messages = outbox(app, tenant)
    assert len(messages) == 3
    links = [re.search(r"(/admin/password/reset/\S+)", m.body).group(1) for m in messages]
    assert [client.get(link).status_code for link in links] == [410, 410, 200]


# --- crossing shops --------------------------------------------------------------------


def test_a_session_from_shop_a_is_refused_on_shop_b(app, make_tenant, make_staff):
    a, b = make_tenant(), make_tenant()
    staff_a = make_staff(a, role="owner")
    make_staff(b, role="owner")
    client_a = shop(app, a)
    log_in(client_a, staff_a.email)
    cookie = client_a.get_cookie("session", domain=f"{a.slug}.localhost").value

    client_b = shop(app, b)
    client_b.set_cookie("session", cookie, domain=f"{b.slug}.localhost")
    assert is_login_redirect(client_b.get("/admin/"))
    assert is_login_redirect(client_b.get("/admin/staff"))

    forged = shop(app, b)  # a validly signed session for B naming A's user id
    log_in_as(forged, staff_a.user_id)
    assert is_login_redirect(forged.get("/admin/"))

    refused = log_in(shop(app, b), staff_a.email)
    assert refused.status_code == 401 and LOGIN_FAILED in refused.text


# --- the access rules, walked over every route -----------------------------------------


def backoffice_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("backoffice.") and rule.endpoint != "backoffice.static"
    ]


def sample_url(rule) -> str:
    """A concrete URL for `rule`: 1 for numeric arguments, "x" for the rest."""
    return re.sub(
        r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>",
        lambda m: "1" if m.group(1) in ("int", "float") else "x",
        rule.rule,
    )


def calls(client, rule):
    """The responses to every method `rule` answers (GET, POST, ...)."""
    for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
        yield method, client.open(sample_url(rule), method=method)


def access(app, rule) -> str | None:
    return getattr(app.view_functions[rule.endpoint], "access", None)


def test_every_back_office_view_declares_its_access(app):
    rules = backoffice_rules(app)
    assert {"backoffice.login", "backoffice.staff", "backoffice.account"} <= {
        r.endpoint for r in rules
    }
    missing = [r.endpoint for r in rules if access(app, r) is None]
    assert missing == []


def test_anonymous_visitors_are_sent_to_login_everywhere(app, make_tenant):
    tenant = make_tenant()
    client = shop(app, tenant)
    checked = 0
    for rule in backoffice_rules(app):
        if access(app, rule) == PUBLIC:
            continue
        for method, response in calls(client, rule):
            assert is_login_redirect(response), (method, rule.rule, response.status_code)
            checked += 1
    assert checked >= 5


def test_stylesheets_load_for_everyone(app, make_tenant, staff_client):
    tenant = make_tenant()
    anonymous = shop(app, tenant)
    signed_in = staff_client(tenant, role="staff", permissions=[])
    for client in (anonymous, signed_in):
        for name in ("app.css", "backoffice.css"):
            response = client.get(f"/admin/static/{name}")
            assert response.status_code == 200, (name, response.status_code)
            assert response.mimetype == "text/css"
            response.close()


def test_staff_without_areas_are_refused_every_area(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, role="staff", permissions=[])
    refused = set()
    for rule in backoffice_rules(app):
        if access(app, rule) in (PUBLIC, SIGNED_IN):
            continue
        for method, response in calls(client, rule):
            assert response.status_code == 403, (method, rule.rule, response.status_code)
        refused.add(access(app, rule))
    assert {"staff-admin", str(Area.SETTINGS)} <= refused  # the staff pages, the outbox
    for rule in backoffice_rules(app):  # pages for any signed-in person still open
        if access(app, rule) == SIGNED_IN and "GET" in rule.methods and not rule.arguments:
            assert client.get(rule.rule).status_code == 200, rule.rule


@pytest.mark.parametrize("area", list(Area))
def test_an_area_opens_only_its_own_pages(app, make_tenant, staff_client, area):
    tenant = make_tenant()
    client = staff_client(tenant, role="staff", permissions=[area])
    for rule in backoffice_rules(app):
        needs = access(app, rule)
        if needs not in {str(a) for a in Area} or "GET" not in rule.methods or rule.arguments:
            continue
        status = client.get(rule.rule).status_code
        if needs == str(area):
            assert status != 403, rule.rule
        else:
            assert status == 403, rule.rule


# --- hand-off entry --------------------------------------------------------------------


def issue_token(app, tenant, purpose, **kwargs):
    with app.app_context():
        raw, row = issue(purpose, tenant.id, **kwargs)
        db.session.commit()
        return raw, row.id


def test_signup_handoff_logs_the_owner_in_once(app, make_tenant, make_staff):
    tenant = make_tenant()
    owner = make_staff(tenant, role="owner")
    raw, _ = issue_token(app, tenant, HandoffPurpose.SIGNUP, staff_id=owner.id)
    client = shop(app, tenant)
    response = client.get(f"/admin/enter?token={raw}")
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/account").status_code == 200
    [event] = audit_events(app, tenant, "staff.login")
    assert event.detail == {"via": "signup"} and event.actor_id == owner.id

    reused = shop(app, tenant).get(f"/admin/enter?token={raw}")
    assert reused.status_code == 400
    assert "This sign-in link has expired or was already used." in reused.text
    assert 'href="/admin/login"' in reused.text

    other = make_tenant()  # a token is bound to its shop
    raw, _ = issue_token(app, tenant, HandoffPurpose.SIGNUP, staff_id=owner.id)
    assert shop(app, other).get(f"/admin/enter?token={raw}").status_code == 400
    assert shop(app, tenant).get("/admin/enter").status_code == 400


def test_impersonation_entry_banner_and_expiry(app, make_tenant, make_operator):
    tenant = make_tenant()
    operator = make_operator()
    raw, handoff_id = issue_token(
        app,
        tenant,
        HandoffPurpose.IMPERSONATE,
        operator_id=operator.id,
        reason="Ticket 4521: checkout question",
        session_ttl=timedelta(minutes=30),
    )
    client = shop(app, tenant)
    assert client.get(f"/admin/enter?token={raw}").headers["Location"] == "/admin/"
    home = client.get("/admin/")
    assert home.status_code == 200
    assert "Operator session" in home.text and operator.email in home.text
    assert "(read-only)" not in home.text
    assert client.get("/admin/staff").status_code == 200
    assert client.get("/admin/account").status_code == 403  # no account of its own here
    assert 'href="/admin/account"' not in home.text  # so the layout does not link to it
    [event] = audit_events(app, tenant, "operator.impersonation_entered")
    assert (event.actor_type, event.actor_id) == ("operator", operator.id)
    assert event.detail["handoff_id"] == handoff_id
    assert event.detail["impersonating"] is True

    assert shop(app, tenant).get(f"/admin/enter?token={raw}").status_code == 400  # reused

    with app.app_context():
        db.session.execute(
            update(HandoffToken)
            .where(HandoffToken.id == handoff_id)
            .values(session_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.session.commit()
    assert is_login_redirect(client.get("/admin/"))


def test_read_only_impersonation_can_look_but_not_change(app, make_tenant, make_operator):
    tenant = make_tenant()
    operator = make_operator()
    raw, handoff_id = issue_token(
        app,
        tenant,
        HandoffPurpose.IMPERSONATE,
        operator_id=operator.id,
        read_only=True,
        reason="Looking only",
        session_ttl=timedelta(minutes=10),
    )
    client = shop(app, tenant)
    client.get(f"/admin/enter?token={raw}")
    home = client.get("/admin/")
    assert "Operator session (read-only)" in home.text
    assert client.get("/admin/staff").status_code == 200
    assert client.get("/admin/staff/invite").status_code == 200
    blocked = client.post("/admin/staff/invite", data={"email": "x@example.com", "role": "staff"})
    assert blocked.status_code == 403 and "read-only session" in blocked.text
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(Staff).where(Staff.email == "x@example.com")) is None

    # Ending the session works in read-only mode and closes it on the server.
    cookie = client.get_cookie("session", domain=f"{tenant.slug}.localhost").value
    assert client.post("/admin/logout").headers["Location"] == "/admin/login"
    with app.app_context():
        assert db.session.get(HandoffToken, handoff_id).ended_at is not None
    replay = shop(app, tenant)
    replay.set_cookie("session", cookie, domain=f"{tenant.slug}.localhost")
    assert is_login_redirect(replay.get("/admin/"))
    assert len(audit_events(app, tenant, "operator.impersonation_ended")) == 1


# --- with CSRF protection on, over real HTTP -------------------------------------------


class Browser:
    """Just enough of a browser for one host: a cookie jar and the Host header."""

    def __init__(self, live_server, host: str) -> None:
        self.port, self.host, self.cookies = live_server.port, host, {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None):
        import http.client
        from urllib.parse import urlencode

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response.status, response.headers, text


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_login_and_logout_forms_carry_their_csrf_token(live_server, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    browser = Browser(live_server, f"{tenant.slug}.localhost")
    status, _, page = browser.request("GET", "/admin/login")
    assert status == 200
    form = {"email": staff.email, "password": STAFF_PASSWORD}
    status, _, _ = browser.request("POST", "/admin/login", form)
    assert status == 400  # no token: refused before any password is checked
    status, headers, _ = browser.request(
        "POST", "/admin/login", {**form, "csrf_token": csrf_token(page)}
    )
    assert status == 302 and headers["Location"] == "/admin/"
    status, _, page = browser.request("GET", "/admin/account")
    assert status == 200
    assert browser.request("POST", "/admin/logout")[0] == 400
    status, headers, _ = browser.request("POST", "/admin/logout", {"csrf_token": csrf_token(page)})
    assert status == 302 and headers["Location"] == "/admin/login"
    assert browser.request("GET", "/admin/account")[0] == 302


def test_unknown_and_known_emails_cost_the_same_password_check(
    app, make_tenant, make_staff, monkeypatch
):
    """Timing: both paths run exactly one argon2 verification (no timed assertion)."""
    from tenants.staff import services as staff_service

    calls: list[bool] = []

    def counting_verify(password_hash, password):
        calls.append(password_hash is None)
        return verify_password(password_hash, password)

    monkeypatch.setattr(staff_service, "verify_password", counting_verify)
    tenant = make_tenant()
    staff = make_staff(tenant)
    client = shop(app, tenant)
    log_in(client, staff.email, "not-the-password-at-all")
    log_in(client, "nobody@example.com", "not-the-password-at-all")
    assert calls == [False, True]  # one real hash, one dummy hash: one check each
