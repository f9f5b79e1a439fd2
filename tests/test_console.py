"""The operator console: sign-in, the shop list, and that its session stays on its host."""

from __future__ import annotations

import re
import uuid

import pytest
from flask import g
from sqlalchemy import select

from saas.db import db
from saas.models import Operator
from saas.operator import load_operator
from saas.passwords import hash_password
from saas.sites import classify_host


@pytest.fixture
def operator(app):
    email = f"op-{uuid.uuid4().hex[:8]}@example.com"
    with app.app_context():
        db.session.add(
            Operator(
                email=email,
                name="Olive Operator",
                password_hash=hash_password("correct horse battery"),
            )
        )
        db.session.commit()
    return email


def sign_in(client, email, password="correct horse battery"):
    return client.post("/login", data={"email": email, "password": password})


def test_operator_signs_in_and_sees_shops(console_client, operator, make_tenant):
    tenant = make_tenant(name="Listed Shop")
    response = sign_in(console_client, operator)
    assert response.status_code == 302
    page = console_client.get(f"/?q={tenant.slug}")
    assert page.status_code == 200
    assert "Listed Shop" in page.text and "1 shop" in page.text
    assert "No shop matches" in console_client.get("/?q=zzz-nothing").text


def test_wrong_password_and_unknown_email_look_the_same(console_client, operator):
    wrong = sign_in(console_client, operator, "not the password")
    unknown = sign_in(console_client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert "Email or password is incorrect." in wrong.text

    def page(response, email):  # the CSRF token is signed with a timestamp: ignore it
        return re.sub(r'name="csrf_token" value="[^"]*"', "", response.text.replace(email, ""))

    assert page(wrong, operator) == page(unknown, "nobody@example.com")


def test_console_session_never_reaches_a_shop(app, console_client, operator, make_tenant):
    tenant = make_tenant()
    response = sign_in(console_client, operator)
    cookie = response.headers["Set-Cookie"]
    assert "Domain=" not in cookie and "HttpOnly" in cookie  # host-only
    # Even if a console session id were replayed on a shop host, it loads no operator.
    with app.test_request_context("/", base_url=f"http://{tenant.slug}.localhost"):
        g.site = classify_host(f"{tenant.slug}.localhost", "localhost", "admin")
        with app.app_context():
            operator_id = str(
                db.session.scalar(select(Operator.id).where(Operator.email == operator))
            )
        assert load_operator(operator_id) is None


def test_a_session_cookie_is_worthless_on_another_host(console_client, platform_client, operator):
    sign_in(console_client, operator)
    cookie = console_client.get_cookie("session", domain="admin.localhost")
    assert console_client.get("/").status_code == 200
    # Replayed on another host of the platform (as a tossed parent-domain cookie would be):
    other = platform_client
    other.set_cookie("session", cookie.value, domain="localhost")
    with other.session_transaction() as session:
        assert "_user_id" not in session


def test_sign_out(console_client, operator):
    sign_in(console_client, operator)
    response = console_client.post("/logout")
    assert response.status_code == 302
    assert console_client.get("/").status_code == 302  # back to the sign-in page
