"""Customer accounts on a shop's storefront (register, log in and out, password reset and
change, claiming guest orders, addresses, wishlist, order status and guest lookup), the
customers pages of the back office, and that none of it crosses shops or doors."""

from __future__ import annotations

import re
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from saas.db import db
from saas.jobs import make_worker
from saas.models import AuditEvent
from saas.outbox import OutboxMessage
from saas.passwords import hash_password
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.customers import services as service
from tenants.customers.models import Customer, CustomerAddress, CustomerToken, WishlistItem
from tenants.orders.models import Fulfillment, Order, OrderLine
from tests.conftest import client_for, log_in_as

PASSWORD = "velvet-orchard-compass-91"
NEW_PASSWORD = "copper-willow-tundra-84"
LOGIN_FAILED = "Email or password is incorrect."
RESET_OFFER = '<a href="/account/reset">Reset your password to log in now.</a>'
LOOKUP_FAILED = "We couldn&#39;t find an order with that number and email address."


# --- helpers ---------------------------------------------------------------------------


def shop(app, tenant):
    return client_for(app, f"{tenant.slug}.localhost")


def make_customer(
    app, tenant, email: str | None = None, *, password: str | None = PASSWORD, **fields: Any
) -> Customer:
    """A committed customer (an account, or a guest with `password=None`), detached."""
    with app.app_context(), tenant_context(tenant):
        customer = Customer(
            email=email or f"c-{secrets.token_hex(4)}@example.com",
            name=fields.pop("name", "Casey Customer"),
            phone="",
            password_hash=hash_password(password) if password else None,
            accepts_marketing=fields.pop("accepts_marketing", False),
            note=fields.pop("note", ""),
            tags=fields.pop("tags", []),
            session_version=1,
            **fields,
        )
        db.session.add(customer)
        db.session.commit()
        db.session.refresh(customer)
        db.session.expunge(customer)
        return customer


def principal(tenant, customer: Customer, version: int = 1) -> str:
    return f"customer:{tenant.id}:{customer.id}:{version}"


def customer_client(app, tenant, customer: Customer):
    client = shop(app, tenant)
    log_in_as(client, principal(tenant, customer))
    return client


def make_order(
    app,
    tenant,
    *,
    number: int = 1001,
    email: str = "buyer@example.com",
    customer_id: int | None = None,
    payment_status: str = "pending",
    fulfillment_status: str = "unfulfilled",
    total_cents: int = 5000,
    refunded_cents: int = 0,
    currency: str = "USD",
    shipping_address: dict[str, str] | None = None,
    fulfillments: list[dict[str, Any]] | None = None,
    lines: list[tuple[str, int, int]] | None = None,
) -> Order:
    """An order written straight to the database (checkout is built elsewhere), detached."""
    with app.app_context(), tenant_context(tenant):
        lines = lines or [("Blue Mug", 2, 1500), ("Green Plate", 1, 1500)]
        subtotal = sum(q * p for _, q, p in lines)
        order = Order(
            number=number,
            token=secrets.token_urlsafe(24),
            email=email,
            customer_name="Casey Customer",
            customer_id=customer_id,
            payment_status=payment_status,
            fulfillment_status=fulfillment_status,
            payment_method="bank_transfer",
            currency=currency,
            subtotal_cents=subtotal,
            shipping_cents=total_cents - subtotal if total_cents > subtotal else 0,
            total_cents=total_cents,
            refunded_cents=refunded_cents,
            shipping_method="Standard post",
            shipping_address=shipping_address
            or {
                "name": "Casey Customer",
                "line1": "1 Harbour Street",
                "city": "Portsmouth",
                "postal_code": "PO1 2AB",
                "country": "GB",
            },
        )
        for title, quantity, price in lines:
            order.lines.append(
                OrderLine(title=title, quantity=quantity, unit_price_cents=price, variant_title="")
            )
        for shipment in fulfillments or []:
            order.fulfillments.append(Fulfillment(**shipment))
        db.session.add(order)
        db.session.commit()
        db.session.refresh(order)
        db.session.expunge(order)
        return order


def customer_row(app, tenant, customer_id: int) -> Customer:
    with app.app_context(), tenant_context(tenant):
        customer = db.session.get(Customer, customer_id)
        assert customer is not None
        db.session.expunge(customer)
        return customer


def customers_with(app, tenant, email: str) -> list[Customer]:
    with app.app_context(), tenant_context(tenant):
        rows = list(db.session.scalars(select(Customer).where(Customer.email == email)))
        db.session.expunge_all()
        return rows


def outbox(app, tenant) -> list[OutboxMessage]:
    with app.app_context(), tenant_context(tenant):
        messages = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return messages


def run_jobs(app) -> None:
    make_worker(app).work(burst=True)


def link_in(message: OutboxMessage) -> str:
    match = re.search(r"http://[^/\s]+(/account/reset/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def without_csrf(text: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", text)


def register(client, email: str, password: str = PASSWORD, **extra: str):
    data = {"name": "Robin Shopper", "email": email, "password": password, "confirm": password}
    data.update(extra)
    return client.post("/account/register", data=data)


def log_in(client, email: str, password: str = PASSWORD, **extra: str):
    return client.post("/account/login", data={"email": email, "password": password, **extra})


def is_login_redirect(response, door: str = "/account/login") -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith(door)


# --- registering -----------------------------------------------------------------------


def test_register_opens_an_account_and_logs_in(app, make_tenant):
    tenant = make_tenant(name="Fig Tree")
    client = shop(app, tenant)
    form = client.get("/account/register")
    assert form.status_code == 200
    assert "<h1>Create an account</h1>" in form.text
    assert '<label for="email">Email</label>' in form.text
    assert 'autocomplete="new-password"' in form.text
    assert form.headers["Cache-Control"] == "private, no-store"

    response = register(client, "  Robin@Example.COM ", accepts_marketing="1")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    page = client.get("/account")
    assert "Welcome! Your account is ready." in page.text
    assert "You haven't placed any orders yet." in page.text
    assert "robin@example.com" in page.text
    # The header says "Account" to a logged-in customer.
    home = client.get("/")
    assert 'class="header-account" href="/account">Account</a>' in home.text

    [row] = customers_with(app, tenant, "robin@example.com")
    assert row.name == "Robin Shopper" and row.accepts_marketing is True
    assert row.password_hash and row.password_hash.startswith("$argon2")
    assert row.last_login_at is not None


def test_register_refuses_bad_input_and_keeps_it(app, make_tenant):
    tenant = make_tenant()
    taken = make_customer(app, tenant, "taken@example.com")
    client = shop(app, tenant)

    weak = register(client, "new@example.com", "password1")
    assert weak.status_code == 400
    assert "leaked passwords" in weak.text or "at least 10" in weak.text
    assert 'value="new@example.com"' in weak.text and 'value="Robin Shopper"' in weak.text
    assert 'aria-invalid="true"' in weak.text

    mismatch = register(client, "new@example.com", confirm="something-else-entirely")
    assert mismatch.status_code == 400 and "The two passwords do not match." in mismatch.text

    bad_email = register(client, "not-an-email")
    assert bad_email.status_code == 400 and "Enter an email address like" in bad_email.text

    duplicate = register(client, taken.email.upper())
    assert duplicate.status_code == 400
    assert "There&#39;s already an account with this email." in duplicate.text

    assert customers_with(app, tenant, "new@example.com") == []
    assert is_login_redirect(client.get("/account"))  # nobody was logged in


def test_register_is_rate_limited(app, make_tenant):
    tenant = make_tenant()
    taken = make_customer(app, tenant, "taken@example.com")
    client = shop(app, tenant)
    # Mistakes in the form never count: a shopper fixing typos is never locked out.
    for n in range(15):
        assert register(client, "bad email").status_code == 400
        assert register(client, f"weak{n}@example.com", "password1").status_code == 400
    # What reaches the create step counts: accounts made, and emails found taken.
    for n in range(9):
        assert register(shop(app, tenant), f"shopper{n}@example.com").status_code == 302
    assert register(client, taken.email).status_code == 400
    limited = register(shop(app, tenant), "fine@example.com")
    assert limited.status_code == 429
    assert (
        "Many sign-ups were just tried from your network, so signing up is paused. "
        "Try again in 1 hour." in limited.text
    )
    assert customers_with(app, tenant, "fine@example.com") == []
    # Another shop counts its own sign-ups.
    other = make_tenant()
    assert register(shop(app, other), "fine@example.com").status_code == 302


# --- logging in and out ----------------------------------------------------------------


def test_login_and_logout(app, make_tenant):
    tenant = make_tenant(name="Fig Tree")
    customer = make_customer(app, tenant, "kim@example.com")
    client = shop(app, tenant)
    form = client.get("/account/login")
    assert "<h1>Log in</h1>" in form.text and "Forgot your password?" in form.text
    assert "log you out of the back office" not in form.text  # no staff session here

    response = log_in(client, "KIM@example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200
    assert client.get("/account/login").headers["Location"] == "/account"  # already in
    assert customer_row(app, tenant, customer.id).last_login_at is not None

    # A copy of this session, taken before logout, dies with it.
    copy = shop(app, tenant)
    copy.set_cookie(
        "session", client.get_cookie("session", domain=client.host).value, domain=copy.host
    )
    assert copy.get("/account").status_code == 200

    out = client.post("/account/logout")
    assert out.status_code == 302 and out.headers["Location"] == "/account/login"
    assert "You&#39;re logged out." in client.get("/account/login").text
    assert is_login_redirect(client.get("/account"))
    assert is_login_redirect(copy.get("/account"))
    assert customer_row(app, tenant, customer.id).session_version == 2
    assert 'href="/account/login">Log in</a>' in client.get("/").text


def test_unknown_email_and_wrong_password_look_the_same(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    guest = make_customer(app, tenant, password=None)  # ordered, never registered
    client = shop(app, tenant)
    wrong = log_in(client, customer.email, "not-the-password-at-all")
    unknown = log_in(client, "nobody@example.com", "not-the-password-at-all")
    as_guest = log_in(client, guest.email, "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == as_guest.status_code == 401
    assert LOGIN_FAILED in wrong.text
    same = without_csrf(unknown.text).replace("nobody@example.com", "E")
    assert without_csrf(wrong.text).replace(customer.email, "E") == same
    assert without_csrf(as_guest.text).replace(guest.email, "E") == same
    assert is_login_redirect(client.get("/account"))


def test_login_is_rate_limited(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = shop(app, tenant)
    for _ in range(8):
        assert log_in(client, customer.email, "wrong-password-guess").status_code == 401
    limited = log_in(client, customer.email)  # even the right password waits now
    assert limited.status_code == 429
    assert "Too many failed tries for this account. Try again in 15 minutes." in limited.text
    assert RESET_OFFER in limited.text
    assert is_login_redirect(client.get("/account"))


def test_failed_logins_say_what_is_left(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = shop(app, tenant)
    texts = [log_in(client, customer.email, f"wrong-{n}").text for n in range(8)]
    assert LOGIN_FAILED in texts[2] and "tries left" not in texts[2]
    assert f"{LOGIN_FAILED} 4 tries left before this account is locked for 15 minutes." in texts[3]
    assert "1 try left before this account is locked for 15 minutes." in texts[6]
    assert RESET_OFFER not in texts[6]
    assert "Too many failed tries for this account. Try again in 15 minutes." in texts[7]
    assert RESET_OFFER in texts[7]


def test_a_lock_in_one_shop_leaves_the_same_email_free_in_another(app, make_tenant):
    shop_a, shop_b = make_tenant(), make_tenant()
    make_customer(app, shop_a, "same@example.com")
    make_customer(app, shop_b, "same@example.com")
    for _ in range(8):
        log_in(shop(app, shop_a), "same@example.com", "wrong-password-guess")
    assert log_in(shop(app, shop_a), "same@example.com").status_code == 429
    assert log_in(shop(app, shop_b), "same@example.com").status_code == 302


@pytest.mark.parametrize(
    "target", ["//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)"]
)
def test_next_never_leaves_the_shop(app, make_tenant, target):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = shop(app, tenant)
    form = client.get("/account/login", query_string={"next": target})
    assert "evil" not in form.text and "javascript" not in form.text
    assert log_in(client, customer.email, next=target).headers["Location"] == "/account"


def test_login_follows_next_on_the_same_shop(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = shop(app, tenant)
    bounce = client.get("/account/addresses")
    assert bounce.headers["Location"] == "/account/login?next=/account/addresses"
    form = client.get(bounce.headers["Location"])
    assert 'name="next" value="/account/addresses"' in form.text
    assert log_in(client, customer.email, next="/account/addresses").headers["Location"] == (
        "/account/addresses"
    )


def test_session_rules_of_the_loader(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    guest = make_customer(app, tenant, password=None)
    stale = shop(app, tenant)
    log_in_as(stale, principal(tenant, customer, version=7))  # an old session version
    assert is_login_redirect(stale.get("/account"))
    as_guest = shop(app, tenant)
    log_in_as(as_guest, principal(tenant, guest))  # a guest row never logs in
    assert is_login_redirect(as_guest.get("/account"))
    garbage = shop(app, tenant)
    log_in_as(garbage, f"customer:{tenant.id}:x:1")
    assert is_login_redirect(garbage.get("/account"))


# --- passwords -------------------------------------------------------------------------


def test_password_reset_by_email(app, make_tenant):
    tenant = make_tenant(name="Fig Tree")
    customer = make_customer(app, tenant, "lee@example.com")
    other_session = customer_client(app, tenant, customer)
    client = shop(app, tenant)

    known = client.post("/account/reset", data={"email": "LEE@example.com"})
    unknown = client.post("/account/reset", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "If an account exists for that email" in known.text
    assert without_csrf(known.text) == without_csrf(unknown.text)
    run_jobs(app)
    [message] = outbox(app, tenant)
    assert message.to_address == "lee@example.com"
    assert message.subject == "Reset your password for Fig Tree"
    path = link_in(message)
    with app.app_context(), tenant_context(tenant):
        [row] = db.session.scalars(select(CustomerToken)).all()
        assert path.rsplit("/", 1)[1] not in row.token_hash  # only the hash is kept
        assert row.expires_at - datetime.now(UTC) <= timedelta(hours=1)

    form = client.get(path)
    assert form.status_code == 200 and "Choose a new password" in form.text
    weak = client.post(path, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 400 and "Use at least 10 characters." in weak.text

    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/account"
    assert "Your password was changed, and you are logged in." in client.get("/account").text
    assert is_login_redirect(other_session.get("/account"))  # older sessions ended

    again = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert again.status_code == 410 and "already used" in again.text
    assert log_in(shop(app, tenant), customer.email).status_code == 401
    assert log_in(shop(app, tenant), customer.email, NEW_PASSWORD).status_code == 302


def test_reset_links_expire_and_must_be_whole(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = shop(app, tenant)
    client.post("/account/reset", data={"email": customer.email})
    run_jobs(app)
    path = link_in(outbox(app, tenant)[-1])
    broken = client.get(path[:-3])
    assert broken.status_code == 400 and "not valid" in broken.text
    with app.app_context(), tenant_context(tenant):
        db.session.execute(
            update(CustomerToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()
    expired = client.get(path)
    assert expired.status_code == 410 and "This password link has expired." in expired.text
    assert "Request a new link" in expired.text


def test_reset_requests_are_rate_limited(app, make_tenant):
    tenant = make_tenant()
    client = shop(app, tenant)
    for _ in range(3):
        assert client.post("/account/reset", data={"email": "x@example.com"}).status_code == 200
    limited = client.post("/account/reset", data={"email": "x@example.com"})
    assert limited.status_code == 429 and "Too many attempts" in limited.text


def test_change_password_ends_other_sessions(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = shop(app, tenant)
    log_in(client, customer.email)
    elsewhere = shop(app, tenant)
    log_in(elsewhere, customer.email)

    def change(current: str, new: str, confirm: str | None = None):
        return client.post(
            "/account/settings",
            data={
                "form": "password",
                "current_password": current,
                "new_password": new,
                "confirm": new if confirm is None else confirm,
            },
        )

    wrong = change("not-my-password", NEW_PASSWORD)
    assert wrong.status_code == 400 and "Your current password is not correct." in wrong.text
    same = change(PASSWORD, PASSWORD)
    assert same.status_code == 400 and "different from your current one" in same.text
    assert customer_row(app, tenant, customer.id).session_version == 1

    done = change(PASSWORD, NEW_PASSWORD)
    assert done.status_code == 302
    assert "Any other sessions were logged out." in client.get("/account/settings").text
    assert client.get("/account").status_code == 200  # this browser stays in
    assert is_login_redirect(elsewhere.get("/account"))
    assert customer_row(app, tenant, customer.id).session_version == 2


def test_wrong_current_passwords_count_like_failed_logins(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = customer_client(app, tenant, customer)

    def change(current: str):
        data = {"form": "password", "current_password": current, "new_password": NEW_PASSWORD}
        return client.post("/account/settings", data={**data, "confirm": NEW_PASSWORD})

    texts = [change(f"guess-{n}").text for n in range(8)]
    assert "Your current password is not correct. 4 tries left before this account" in texts[3]
    assert "Too many failed tries for this account. Try again in 15 minutes." in texts[7]
    locked = change(PASSWORD)  # nothing is checked while locked
    assert locked.status_code == 429 and "Try again in 15 minutes." in locked.text
    assert log_in(shop(app, tenant), customer.email).status_code == 429


def test_customer_edits_their_details(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant, accepts_marketing=True)
    client = customer_client(app, tenant, customer)
    page = client.get("/account/settings")
    assert page.status_code == 200 and customer.email in page.text
    too_long = client.post("/account/settings", data={"form": "details", "name": "x" * 201})
    assert too_long.status_code == 400 and "Use at most 200 characters." in too_long.text
    saved = client.post("/account/settings", data={"form": "details", "name": " Ada  Lovelace "})
    assert saved.status_code == 302
    row = customer_row(app, tenant, customer.id)
    assert row.name == "Ada Lovelace" and row.accepts_marketing is False  # box unticked


# --- guests claiming their orders --------------------------------------------------------


def test_registering_a_guest_email_claims_it_through_a_mailed_link(app, make_tenant):
    tenant = make_tenant(name="Fig Tree")
    with app.app_context(), tenant_context(tenant):
        guest = service.find_or_create_guest("Sam@Example.com", "Sam Guest")
        db.session.commit()
        guest_id = guest.id
    make_order(app, tenant, number=1001, email="Sam@Example.com", customer_id=guest_id)
    # An older order with the email but tied to no customer is claimed too.
    make_order(app, tenant, number=1002, email="SAM@example.com", customer_id=None)
    make_order(app, tenant, number=1003, email="someone@example.com")

    client = shop(app, tenant)
    response = register(client, "sam@example.com")
    assert response.status_code == 200 and "Check your email" in response.text
    assert is_login_redirect(client.get("/account"))  # typing the email shows nothing
    [row] = customers_with(app, tenant, "sam@example.com")
    assert row.id == guest_id and row.password_hash is None  # claimed, not duplicated

    run_jobs(app)
    [message] = outbox(app, tenant)
    assert message.subject == "Finish creating your account at Fig Tree"
    path = link_in(message)
    form = client.get(path)
    assert "Finish creating your account" in form.text and "sam@example.com" in form.text
    done = client.post(path, data={"password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 302
    orders = client.get("/account").text
    assert "Your account is ready, and you are logged in." in orders
    assert "Order #1001" in orders and "Order #1002" in orders
    assert "Order #1003" not in orders
    assert customers_with(app, tenant, "sam@example.com")[0].has_account


def test_find_or_create_guest(app, make_tenant):
    tenant = make_tenant()
    account = make_customer(app, tenant, "member@example.com", name="")
    with app.app_context(), tenant_context(tenant):
        first = service.find_or_create_guest(" New@Example.com ", "New Person")
        again = service.find_or_create_guest("new@example.com", "Another Name")
        assert first.id == again.id and again.name == "New Person"
        member = service.find_or_create_guest("MEMBER@example.com", "Member Name")
        assert member.id == account.id and member.name == "Member Name"  # blank name filled
        with pytest.raises(service.CustomerProblem):
            service.find_or_create_guest("nope", "")
        db.session.commit()


def test_find_or_create_guest_races_make_one_row(app, make_tenant):
    tenant = make_tenant()
    ids: list[int] = []
    barrier = threading.Barrier(6)

    def checkout() -> None:
        with app.app_context(), tenant_context(tenant):
            barrier.wait()
            ids.append(service.find_or_create_guest("race@example.com", "Racer").id)
            db.session.commit()

    threads = [threading.Thread(target=checkout) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 6 and len(set(ids)) == 1
    assert len(customers_with(app, tenant, "race@example.com")) == 1


# --- orders ----------------------------------------------------------------------------


def test_order_history_and_status_page(app, make_tenant):
    tenant = make_tenant(name="Fig Tree")
    customer = make_customer(app, tenant)
    other = make_customer(app, tenant)
    make_order(
        app,
        tenant,
        number=1001,
        email=customer.email,
        customer_id=customer.id,
        payment_status="paid",
        fulfillment_status="fulfilled",
        total_cents=5000,
        fulfillments=[
            {
                "carrier": "Royal Mail",
                "tracking_number": "RM123456789GB",
                "tracking_url": "https://track.example.com/RM123456789GB",
            },
            {"carrier": "Sneaky", "tracking_number": "X1", "tracking_url": "javascript:alert(1)"},
        ],
    )
    make_order(app, tenant, number=1002, email=customer.email, customer_id=customer.id)
    make_order(app, tenant, number=1003, email=other.email, customer_id=other.id)
    client = customer_client(app, tenant, customer)

    history = client.get("/account")
    assert history.headers["Cache-Control"] == "private, no-store"
    assert "Order #1002" in history.text and "Order #1001" in history.text
    assert history.text.index("Order #1002") < history.text.index("Order #1001")  # newest first
    assert "Order #1003" not in history.text
    assert "Shipped" in history.text and "Payment pending" in history.text

    page = client.get("/account/orders/1001")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Order #1001</h1>" in text
    assert "Blue Mug" in text and "Green Plate" in text
    assert "$15.00" in text and "$30.00" in text and "$50.00" in text  # price, line, total
    assert "Paid" in text and "Shipped" in text and "Bank transfer" in text
    assert "1 Harbour Street" in text and "United Kingdom" in text
    assert "RM123456789GB" in text
    assert 'href="https://track.example.com/RM123456789GB"' in text
    assert "javascript:" not in text  # an unsafe tracking address is shown, never linked
    assert client.get("/account/orders/1003").status_code == 404  # someone else's
    assert client.get("/account/orders/9999").status_code == 404


def test_order_history_is_paginated_and_has_an_empty_state(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = customer_client(app, tenant, customer)
    assert "You haven't placed any orders yet." in client.get("/account").text
    for n in range(21):
        make_order(app, tenant, number=2000 + n, email=customer.email, customer_id=customer.id)
    first = client.get("/account").text
    assert "Order #2020" in first and "Order #2000" not in first and "Page 1 of 2" in first
    second = client.get("/account?page=2").text
    assert "Order #2000" in second and "Order #2020" not in second
    assert client.get("/account?page=3").status_code == 404


def test_guest_lookup_answers_the_same_for_any_wrong_part(app, make_tenant):
    tenant = make_tenant()
    order = make_order(app, tenant, number=1001, email="Guest@Example.com")
    client = shop(app, tenant)
    form = client.get("/orders/lookup")
    assert form.status_code == 200 and '<label for="number">Order number</label>' in form.text

    found = client.post("/orders/lookup", data={"number": "#1001", "email": "guest@example.COM"})
    assert found.status_code == 302 and found.headers["Location"] == f"/orders/{order.token}"
    page = client.get(found.headers["Location"])
    assert page.status_code == 200 and "<h1>Order #1001</h1>" in page.text
    assert page.headers["Cache-Control"] == "private, no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "Create an account" in page.text

    wrong_email = client.post("/orders/lookup", data={"number": "1001", "email": "x@example.com"})
    wrong_number = client.post(
        "/orders/lookup", data={"number": "1002", "email": "guest@example.com"}
    )
    assert wrong_email.status_code == wrong_number.status_code == 404
    assert LOOKUP_FAILED in wrong_email.text
    assert without_csrf(wrong_email.text).replace("x@example.com", "E").replace(
        'value="1001"', "N"
    ) == without_csrf(wrong_number.text).replace("guest@example.com", "E").replace(
        'value="1002"', "N"
    )
    assert client.get("/orders/not-a-real-token").status_code == 404


def test_guest_lookup_is_rate_limited_per_order_number(app, make_tenant):
    tenant = make_tenant()
    make_order(app, tenant, number=1001, email="guest@example.com")
    client = shop(app, tenant)
    for n in range(5):
        data = {"number": "1001", "email": f"guess{n}@example.com"}
        assert client.post("/orders/lookup", data=data).status_code == 404
    limited = client.post("/orders/lookup", data={"number": "1001", "email": "guest@example.com"})
    assert limited.status_code == 429 and "Too many attempts" in limited.text


def test_order_status_link_is_never_cached(app, make_tenant):
    tenant = make_tenant()
    order = make_order(app, tenant, number=1001, payment_status="pending")
    client = shop(app, tenant)
    assert "Payment pending" in client.get(f"/orders/{order.token}").text
    with app.app_context(), tenant_context(tenant):
        db.session.execute(update(Order).values(payment_status="paid"))
        db.session.commit()
    fresh = shop(app, tenant).get(f"/orders/{order.token}")
    assert "Paid" in fresh.text and "Payment pending" not in fresh.text


# --- addresses -------------------------------------------------------------------------

ADDRESS = {
    "name": "Robin Shopper",
    "line1": "12 Rue des Lilas",
    "city": "Lyon",
    "postal_code": "69001",
    "country": "FR",
}


def addresses_of(app, tenant, customer_id: int) -> list[CustomerAddress]:
    with app.app_context(), tenant_context(tenant):
        rows = list(
            db.session.scalars(
                select(CustomerAddress)
                .where(CustomerAddress.customer_id == customer_id)
                .order_by(CustomerAddress.id)
            )
        )
        db.session.expunge_all()
        return rows


def test_address_book(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = customer_client(app, tenant, customer)
    empty = client.get("/account/addresses")
    assert "You have no saved addresses." in empty.text

    form = client.get("/account/addresses/new").text
    assert "<h1>Add an address</h1>" in form and "<title>Add an address" in form
    assert 'value="Casey Customer"' in form  # the name is filled in from the account
    blank = client.post("/account/addresses/new", data={"country": "US", "line2": "Flat 2"})
    assert blank.status_code == 400
    for message in (
        "Enter a name.",
        "Enter a street address.",
        "Enter a city.",
        "Enter a ZIP code.",
    ):
        assert message in blank.text
    # Checkout's rules: an address saved here is one checkout accepts (US needs a state).
    assert "Choose a state." in blank.text and '<select id="region" name="region"' in blank.text
    assert 'value="Flat 2"' in blank.text  # what was typed stays
    unknown_country = client.post("/account/addresses/new", data={**ADDRESS, "country": "XX"})
    assert "Choose a country from the list." in unknown_country.text
    no_postcode_needed = client.post(
        "/account/addresses/new",
        data={**ADDRESS, "city": "Hong Kong", "postal_code": "", "country": "HK"},
    )
    assert no_postcode_needed.status_code == 302
    assert addresses_of(app, tenant, customer.id)[0].is_default  # the first is the default

    second = client.post("/account/addresses/new", data={**ADDRESS, "default": "1"})
    assert second.status_code == 302
    first, lyon = addresses_of(app, tenant, customer.id)
    assert (first.is_default, lyon.is_default) == (False, True)
    listing = client.get("/account/addresses").text
    assert "Default address" in listing and "12 Rue des Lilas" in listing and "France" in listing
    in_california = client.post(
        "/account/addresses/new",
        data={**ADDRESS, "city": "San Jose", "region": "california", "postal_code": "95112",
              "country": "US"},
    )  # fmt: skip
    assert in_california.status_code == 302
    assert addresses_of(app, tenant, customer.id)[-1].region == "US-CA"
    assert "San Jose, CA 95112" in client.get("/account/addresses").text
    client.post(f"/account/addresses/{addresses_of(app, tenant, customer.id)[-1].id}/delete")

    edit = client.get(f"/account/addresses/{lyon.id}")
    assert 'value="12 Rue des Lilas"' in edit.text and "<h1>Edit address</h1>" in edit.text
    edited = client.post(f"/account/addresses/{lyon.id}", data={**ADDRESS, "city": "Paris"})
    assert edited.status_code == 302
    assert addresses_of(app, tenant, customer.id)[1].city == "Paris"
    bad_edit = client.post(f"/account/addresses/{lyon.id}", data={**ADDRESS, "city": ""})
    assert bad_edit.status_code == 400
    assert addresses_of(app, tenant, customer.id)[1].city == "Paris"

    assert client.post(f"/account/addresses/{first.id}/default").status_code == 302
    assert addresses_of(app, tenant, customer.id)[0].is_default

    confirm = client.get(f"/account/addresses/{first.id}/delete")
    assert confirm.status_code == 200 and "Delete this address?" in confirm.text
    assert len(addresses_of(app, tenant, customer.id)) == 2  # asking deletes nothing
    assert client.post(f"/account/addresses/{first.id}/delete").status_code == 302
    [left] = addresses_of(app, tenant, customer.id)
    assert left.id == lyon.id and left.is_default  # the default moved on


def test_addresses_belong_to_their_customer(app, make_tenant):
    tenant = make_tenant()
    owner = make_customer(app, tenant)
    intruder = make_customer(app, tenant)
    customer_client(app, tenant, owner).post("/account/addresses/new", data=ADDRESS)
    [address] = addresses_of(app, tenant, owner.id)
    client = customer_client(app, tenant, intruder)
    assert client.get(f"/account/addresses/{address.id}").status_code == 404
    assert client.post(f"/account/addresses/{address.id}", data=ADDRESS).status_code == 404
    assert client.post(f"/account/addresses/{address.id}/delete").status_code == 404
    assert client.post(f"/account/addresses/{address.id}/default").status_code == 404
    assert addresses_of(app, tenant, owner.id)[0].line1 == ADDRESS["line1"]


# --- wishlist --------------------------------------------------------------------------


def test_wishlist(app, make_tenant):
    tenant = make_tenant(products=[("Linen Shirt", 4500), ("Wool Scarf", 2500)])
    customer = make_customer(app, tenant)
    with app.app_context(), tenant_context(tenant):
        ids = {p.handle: p.id for p in db.session.scalars(select(Product))}
    anonymous = shop(app, tenant).get("/products/linen-shirt").text
    assert "Add to wishlist" not in anonymous and "csrf_token" not in anonymous

    client = customer_client(app, tenant, customer)
    assert "Your wishlist is empty." in client.get("/account/wishlist").text
    product_page = client.get("/products/linen-shirt").text
    assert "Add to wishlist" in product_page and 'name="csrf_token"' in product_page

    added = client.post(
        "/account/wishlist",
        data={"product_id": str(ids["linen-shirt"]), "next": "/products/linen-shirt"},
    )
    assert added.status_code == 302 and added.headers["Location"] == "/products/linen-shirt"
    assert client.post("/account/wishlist", data={"product_id": str(ids["linen-shirt"])})
    assert "Saved in" in client.get("/products/linen-shirt").text
    listing = client.get("/account/wishlist").text
    assert "Linen Shirt" in listing and "$45.00" in listing and "Wool Scarf" not in listing

    assert client.post("/account/wishlist", data={"product_id": "999999"}).status_code == 404
    # A product unpublished later drops out of the list; it can't be added either.
    client.post("/account/wishlist", data={"product_id": str(ids["wool-scarf"])})
    with app.app_context(), tenant_context(tenant):
        db.session.execute(
            update(Product).where(Product.id == ids["wool-scarf"]).values(status="draft")
        )
        db.session.commit()
    assert "Wool Scarf" not in client.get("/account/wishlist").text

    removed = client.post(f"/account/wishlist/{ids['linen-shirt']}/remove")
    assert removed.status_code == 302
    assert "Removed from your wishlist." in client.get("/account/wishlist").text
    with app.app_context(), tenant_context(tenant):
        left = db.session.scalars(select(WishlistItem.product_id)).all()
    assert left == [ids["wool-scarf"]]


# --- one login per browser: customers and staff ---------------------------------------


def test_a_customer_never_passes_the_back_office(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = shop(app, tenant)
    log_in(client, customer.email)
    for path in ("/admin/", "/admin/customers", "/admin/account", "/admin/settings"):
        assert is_login_redirect(client.get(path), "/admin/login"), path
    assert client.post("/admin/customers/1", data={"form": "notes"}).status_code == 302
    staff_login = client.get("/admin/login")
    assert staff_login.status_code == 200 and 'name="password"' in staff_login.text
    assert client.get("/admin/nonexistent").status_code in (302, 404)
    # The customer is still logged in on the storefront.
    assert client.get("/account").status_code == 200


def test_staff_and_customer_logins_end_each_other(app, make_tenant, make_staff):
    tenant = make_tenant(name="Fig Tree")
    staff = make_staff(tenant, role="owner", name="Olive Owner")
    customer = make_customer(app, tenant)
    client = shop(app, tenant)
    assert (
        client.post(
            "/admin/login", data={"email": staff.email, "password": staff.password}
        ).status_code
        == 302
    )
    assert client.get("/admin/").status_code == 200

    # Staff are not customers: the account pages ask them to log in as one, and say what
    # that does to the back-office session.
    assert is_login_redirect(client.get("/account"))
    form = client.get("/account/login").text
    assert "You're logged in to this shop's back office as Olive Owner." in form
    assert "logs you out of the back office" in form
    assert "log you out" not in client.get("/").text  # no notice elsewhere
    assert 'href="/account/login">Log in</a>' in client.get("/").text
    assert "logs you out of the back office" in client.get("/account/register").text
    # A customer's logout button does not end a staff session.
    client.post("/account/logout")
    assert client.get("/admin/").status_code == 200

    assert log_in(client, customer.email).status_code == 302
    assert client.get("/account").status_code == 200
    assert is_login_redirect(client.get("/admin/"), "/admin/login")  # staff session ended

    assert (
        client.post(
            "/admin/login", data={"email": staff.email, "password": staff.password}
        ).status_code
        == 302
    )
    assert client.get("/admin/").status_code == 200
    assert is_login_redirect(client.get("/account"))  # customer session ended


def test_customers_do_not_pass_the_launch_gate(app, make_tenant, staff_client):
    tenant = make_tenant(name="Quiet Shop", launched=False, products=[("Secret Lamp", 4200)])
    customer = make_customer(app, tenant)
    client = customer_client(app, tenant, customer)
    page = client.get("/products/secret-lamp").text
    assert "Quiet Shop is coming soon" in page and "Secret Lamp" not in page
    assert "only you can see it" not in page
    # Staff do get in, with the preview bar.
    staff_page = staff_client(tenant, role="owner").get("/products/secret-lamp").text
    assert "Secret Lamp" in staff_page and "only you can see it" in staff_page


def test_a_storefront_password_survives_a_customer_login(app, make_tenant):
    from tests.shop.test_storefront_gate import PASSWORD as SHOP_PASSWORD
    from tests.shop.test_storefront_gate import set_password

    tenant = make_tenant(launched=False, products=[("Secret Lamp", 4200)])
    set_password(app, tenant, SHOP_PASSWORD)
    customer = make_customer(app, tenant)
    client = shop(app, tenant)
    client.post("/password", data={"password": SHOP_PASSWORD, "next": "/"})
    assert log_in(client, customer.email).status_code == 302
    page = client.get("/products/secret-lamp").text
    assert "Secret Lamp" in page and "only you can see it" not in page
    assert 'href="/account">Account</a>' in page


def test_a_customer_session_never_sees_the_staff_preview(app, make_tenant):
    tenant = make_tenant(products=[("Linen Shirt", 4500)])
    customer = make_customer(app, tenant)
    client = shop(app, tenant)
    with client.session_transaction(base_url=f"http://{client.host}") as session:
        session["_user_id"] = principal(tenant, customer)
        session["theme_preview"] = True  # only staff can set it; a customer must not use it
    response = client.get("/")
    assert response.status_code == 200
    assert "unpublished theme changes" not in response.text
    assert 'href="/account">Account</a>' in response.text


# --- isolation between shops -----------------------------------------------------------


def test_a_customer_of_one_shop_is_nobody_in_another(app, make_tenant, staff_client):
    shop_a = make_tenant(name="Shop A", products=[("A Lamp", 1000)])
    shop_b = make_tenant(name="Shop B", products=[("B Lamp", 1000)])
    customer = make_customer(app, shop_a, "alex@example.com")
    order = make_order(app, shop_a, number=1001, email=customer.email, customer_id=customer.id)
    client_a = shop(app, shop_a)
    assert log_in(client_a, customer.email).status_code == 302

    # The same credentials do not open an account in shop B.
    assert log_in(shop(app, shop_b), customer.email).status_code == 401

    # Shop A's session cookie, carried to shop B's host, is worthless there.
    client_b = shop(app, shop_b)
    client_b.set_cookie(
        "session", client_a.get_cookie("session", domain=client_a.host).value, domain=client_b.host
    )
    assert is_login_redirect(client_b.get("/account"))
    assert 'href="/account/login">Log in</a>' in client_b.get("/").text

    # A session naming shop A's customer, signed for shop B, is refused by the loader.
    forged = shop(app, shop_b)
    log_in_as(forged, principal(shop_a, customer))
    assert is_login_redirect(forged.get("/account"))
    # Shop A's customer id in shop B's back office is not found.
    staff_b = staff_client(shop_b, role="owner")
    assert staff_b.get(f"/admin/customers/{customer.id}").status_code == 404
    assert (
        staff_b.post(
            f"/admin/customers/{customer.id}", data={"form": "notes", "note": "x", "tags": ""}
        ).status_code
        == 404
    )
    assert "alex@example.com" not in staff_b.get("/admin/customers").text
    # Even if shop B has a customer with the same id, A's principal is not theirs.
    same_id = make_customer(app, shop_b, "bea@example.com")
    assert same_id.id == customer.id
    assert is_login_redirect(forged.get("/account"))
    page_b = staff_b.get(f"/admin/customers/{customer.id}").text  # shop B's own customer
    assert "bea@example.com" in page_b and "alex@example.com" not in page_b

    # Shop A's order link and order number mean nothing on shop B.
    assert shop(app, shop_b).get(f"/orders/{order.token}").status_code == 404
    lookup = shop(app, shop_b).post(
        "/orders/lookup", data={"number": "1001", "email": customer.email}
    )
    assert lookup.status_code == 404


def test_password_links_work_only_on_their_own_shop(app, make_tenant):
    shop_a = make_tenant()
    shop_b = make_tenant()
    customer = make_customer(app, shop_a)
    shop(app, shop_a).post("/account/reset", data={"email": customer.email})
    run_jobs(app)
    path = link_in(outbox(app, shop_a)[-1])
    assert shop(app, shop_b).get(path).status_code == 400
    assert outbox(app, shop_b) == []


# --- the back office -------------------------------------------------------------------


def test_back_office_customer_list(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["customers"])
    empty = client.get("/admin/customers")
    assert empty.status_code == 200 and "No customers yet." in empty.text

    ann = make_customer(app, tenant, "ann@example.com", name="Ann Archer", accepts_marketing=True)
    make_customer(app, tenant, "bob@example.com", name="Bob Baker", password=None)
    with app.app_context(), tenant_context(tenant):
        for n in range(26):
            db.session.add(
                Customer(
                    email=f"bulk{n:02d}@example.com",
                    name=f"Bulk {n:02d}",
                    phone="",
                    note="",
                    tags=[],
                    accepts_marketing=False,
                    session_version=1,
                )
            )
        db.session.commit()
    make_order(app, tenant, number=1001, email=ann.email, customer_id=ann.id, payment_status="paid")

    listing = client.get("/admin/customers")
    assert "28 customers" in listing.text and "Page 1 of 2" in listing.text
    assert '<label for="q">Search by name or email</label>' in listing.text
    assert "Ann Archer" in client.get("/admin/customers?page=2").text  # oldest ones last

    found = client.get("/admin/customers?q=archer").text
    assert "Ann Archer" in found and "Bob Baker" not in found and "1 customer<" in found
    by_email = client.get("/admin/customers?q=BOB@").text
    assert "Bob Baker" in by_email and "Ann Archer" not in by_email
    assert "No customers match" in client.get("/admin/customers?q=%25").text  # % is literal
    assert "No customers match these filters." in client.get("/admin/customers?q=zzz").text
    guests = client.get("/admin/customers?account=no").text
    assert "27 customers" in guests and "Ann Archer" not in guests
    accounts = client.get("/admin/customers?account=yes").text
    assert "Ann Archer" in accounts and "Bob Baker" not in accounts
    subscribed = client.get("/admin/customers?marketing=yes").text
    assert "Ann Archer" in subscribed and "1 customer<" in subscribed
    by_spent = client.get("/admin/customers?sort=spent").text
    assert by_spent.index("Ann Archer") < by_spent.index("Bulk 25")
    assert "$50.00" in by_spent
    by_name = client.get("/admin/customers?sort=name").text
    assert by_name.index("Ann Archer") < by_name.index("Bob Baker") < by_name.index("Bulk 00")
    assert client.get("/admin/customers?sort=nonsense").status_code == 200
    assert client.get("/admin/customers?page=9").status_code == 404


def test_back_office_needs_the_customers_area(app, make_tenant, staff_client):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    products_only = staff_client(tenant, permissions=["products"])
    assert products_only.get("/admin/customers").status_code == 403
    assert products_only.get(f"/admin/customers/{customer.id}").status_code == 403
    assert 'href="/admin/customers"' not in products_only.get("/admin/").text
    make_order(app, tenant, number=1001, email=customer.email, customer_id=customer.id)
    allowed = staff_client(tenant, permissions=["customers"])
    page = allowed.get(f"/admin/customers/{customer.id}")
    assert page.status_code == 200 and "#1001" in page.text
    assert 'href="/admin/orders/1001"' not in page.text  # no link to a page they can't open


def test_back_office_customer_page(app, make_tenant, staff_client):
    tenant = make_tenant()
    customer = make_customer(app, tenant, "dana@example.com", name="Dana Diaz")
    make_order(app, tenant, number=1001, email=customer.email, customer_id=customer.id,
               payment_status="paid", total_cents=5000)  # fmt: skip
    make_order(app, tenant, number=1002, email=customer.email, customer_id=customer.id,
               payment_status="partially_refunded", total_cents=4000,
               refunded_cents=1000)  # fmt: skip
    make_order(app, tenant, number=1003, email=customer.email, customer_id=customer.id,
               payment_status="pending", total_cents=9900)  # fmt: skip
    make_order(app, tenant, number=1004, email=customer.email, customer_id=customer.id,
               payment_status="refunded", total_cents=3000, refunded_cents=3000)  # fmt: skip
    customer_client(app, tenant, customer).post("/account/addresses/new", data=ADDRESS)
    client = staff_client(tenant, role="owner")
    page = client.get(f"/admin/customers/{customer.id}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Dana Diaz</h1>" in text and "dana@example.com" in text
    assert "$80.00" in text  # 50 paid + (40 - 10) partly refunded; pending/refunded not
    for number in ("#1001", "#1002", "#1003", "#1004"):
        assert number in text
    assert 'href="/admin/orders/1001"' in text  # the owner may open orders
    assert "12 Rue des Lilas" in text and "Default address" in text
    assert "has not agreed to receive marketing email" in text
    assert client.get("/admin/customers/999999").status_code == 404


def test_back_office_edits_note_and_tags(app, make_tenant, staff_client):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    client = staff_client(tenant, role="owner")
    url = f"/admin/customers/{customer.id}"

    too_many = ", ".join(f"t{n}" for n in range(31))
    refused = client.post(url, data={"form": "notes", "note": "Likes blue", "tags": too_many})
    assert refused.status_code == 400 and "Use at most 30 tags." in refused.text
    assert "Likes blue" in refused.text  # what was typed stays
    long_tag = client.post(url, data={"form": "notes", "note": "", "tags": "x" * 101})
    assert long_tag.status_code == 400 and "Keep each tag under 100 characters" in long_tag.text
    assert customer_row(app, tenant, customer.id).note == ""

    saved = client.post(
        url,
        data={
            "form": "notes",
            "note": "Likes blue.\r\nCall first.",
            "tags": "VIP, wholesale,vip, ",
        },
    )
    assert saved.status_code == 302
    assert "Note and tags saved." in client.get(url).text
    row = customer_row(app, tenant, customer.id)
    assert row.note == "Likes blue.\nCall first." and row.tags == ["VIP", "wholesale"]
    assert 'value="VIP, wholesale"' in client.get(url).text
    assert "VIP" in client.get("/admin/customers").text


def test_back_office_marketing_consent_is_audited(app, make_tenant, staff_client):
    tenant = make_tenant()
    customer = make_customer(app, tenant, accepts_marketing=False)
    client = staff_client(tenant, role="owner")
    url = f"/admin/customers/{customer.id}"
    done = client.post(
        url, data={"form": "marketing", "accepts_marketing": "1", "reason": "Asked by phone"}
    )
    assert done.status_code == 302
    assert "now receives marketing email" in client.get(url).text
    assert customer_row(app, tenant, customer.id).accepts_marketing is True
    unchanged = client.post(url, data={"form": "marketing", "accepts_marketing": "1"})
    assert unchanged.status_code == 302
    with app.app_context():
        [event] = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.tenant_id == tenant.id,
                AuditEvent.action == "customer.marketing_consent_changed",
            )
        ).all()
        assert event.actor_type == "staff" and event.actor_id == client.staff.id
        assert event.reason == "Asked by phone"
        assert event.detail["customer_id"] == customer.id
        assert event.detail["accepts_marketing"] is True
    assert client.post(url, data={"form": "other"}).status_code == 400


def test_totals_count_only_sales(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    make_order(app, tenant, number=1, customer_id=customer.id, payment_status="paid")
    make_order(app, tenant, number=2, customer_id=customer.id, payment_status="voided")
    make_order(app, tenant, number=3, customer_id=customer.id, payment_status="paid",
               currency="EUR", total_cents=700)  # fmt: skip
    with app.app_context(), tenant_context(tenant):
        row = db.session.get(Customer, customer.id)
        summary = service.summary(row)
        assert summary.orders == 3
        assert summary.spent == [("EUR", 700), ("USD", 5000)]
        count = db.session.scalar(select(func.count()).select_from(Order))
        assert count == 3


def test_the_cart_filled_before_logging_in_comes_along(app, make_tenant):
    from tenants.catalog.models import ProductVariant
    from tenants.checkout.models import Cart

    tenant = make_tenant(products=[("Linen Shirt", 4500)])
    customer = make_customer(app, tenant)
    with app.app_context(), tenant_context(tenant):
        variant_id = db.session.scalars(select(ProductVariant.id)).first()
    client = shop(app, tenant)
    added = client.post("/cart/add", data={"variant": str(variant_id), "quantity": "2"})
    assert added.status_code in (302, 303)
    assert log_in(client, customer.email).status_code == 302
    with app.app_context(), tenant_context(tenant):
        [cart] = db.session.scalars(select(Cart).where(Cart.customer_id == customer.id)).all()
        assert sum(line.quantity for line in cart.lines) == 2
    assert "Linen Shirt" in client.get("/cart").text
