"""A strict Content-Security-Policy on every HTML page (storefront, back office, platform,
console, error pages, the front cache's stored pages), whose hashes let exactly the page's
own inline blocks run, and that no page of a real browser session breaks."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from saas.security import content_security_policy
from tests.chromium import playwright_api
from tests.conftest import STAFF_PASSWORD, client_for, log_in_as


def sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def directive(policy: str, name: str) -> list[str]:
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    raise AssertionError(f"{name} missing from {policy!r}")


def inline_blocks(html: str, tag: str) -> list[str]:
    return [
        body
        for attributes, body in re.findall(rf"<{tag}\b([^>]*)>(.*?)</{tag}>", html, re.S)
        if "src=" not in attributes and "json" not in attributes
    ]


def test_the_policy_allows_only_the_pages_own_inline_blocks():
    page = (
        b"<style>:root{--bg:#fff}</style><script>alert(1)</script>"
        b'<script type="application/ld+json">{"a": 1}</script><script src="/x.js"></script>'
    )
    policy = content_security_policy(page)
    assert directive(policy, "script-src") == ["'self'", sha("alert(1)")]
    assert directive(policy, "style-src") == ["'self'", sha(":root{--bg:#fff}")]
    assert directive(policy, "object-src") == ["'none'"]
    assert directive(policy, "base-uri") == ["'none'"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directive(content_security_policy(b"<p>no inline</p>"), "script-src") == ["'self'"]


def assert_policy_fits(response) -> None:
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    for tag, name in (("script", "script-src"), ("style", "style-src")):
        allowed = directive(policy, name)
        for body in inline_blocks(html, tag):
            assert sha(body) in allowed, (tag, body[:60])


def test_every_site_sends_the_policy(app, make_tenant, make_staff):
    tenant = make_tenant(products=[("Mug", 1200)])
    shopper = client_for(app, f"{tenant.slug}.localhost")
    for client, path in [
        (shopper, "/"),
        (shopper, "/"),  # the second answer comes from the front cache
        (shopper, "/products/mug"),
        (shopper, "/no-such-page"),
        (client_for(app, "localhost"), "/"),
        (client_for(app, "localhost"), "/signup"),
        (client_for(app, "admin.localhost"), "/login"),
        (client_for(app, "nowhere.localhost"), "/"),
    ]:
        assert_policy_fits(client.get(path))
    owner = client_for(app, f"{tenant.slug}.localhost")
    log_in_as(owner, make_staff(tenant, role="owner").user_id)
    assert_policy_fits(owner.get("/admin/"))
    assert_policy_fits(owner.get("/admin/products"))


def test_json_answers_carry_no_policy(app):
    response = client_for(app, "localhost").get("/healthz")
    assert "Content-Security-Policy" not in response.headers


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.browser
def test_no_page_of_a_real_session_breaks_the_policy(page, live_server, make_tenant, make_staff):
    tenant = make_tenant(name="Policy Shop", products=[("Mug", 1200)])
    staff = make_staff(tenant, role="owner")
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    shop = live_server.url(f"{tenant.slug}.localhost")
    for url in (shop, shop + "products/mug", shop + "search?q=mug", shop + "cart", shop + "x/y"):
        page.goto(url)
    for url in (live_server.url("localhost"), live_server.url("localhost") + "signup"):
        page.goto(url)
    page.goto(shop + "admin/login")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    playwright_api.expect(page.get_by_role("navigation").first).to_be_visible()
    for path in ("admin/", "admin/products", "admin/orders", "admin/settings"):
        page.goto(shop + path)
    assert refused == []
