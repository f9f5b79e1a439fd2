"""The back-office login in real Chromium: wrong passwords say what is left, and a locked
account says when to try again and offers the password reset."""

from __future__ import annotations

from tests.chromium import playwright_api
from tests.conftest import STAFF_PASSWORD


def test_staff_login_counts_down_then_offers_the_reset(page, live_server, make_tenant, make_staff):
    tenant = make_tenant(name="Juniper Goods")
    staff = make_staff(tenant)
    expect = playwright_api.expect
    page.goto(live_server.url(f"{tenant.slug}.localhost", "/admin/login"))
    expect(page.get_by_role("heading", name="Log in to Juniper Goods")).to_be_visible()

    def try_password(password: str) -> None:
        page.get_by_label("Email").fill(staff.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()

    alert = page.get_by_role("alert")
    try_password("not my password")
    expect(alert).to_have_text("Email or password is incorrect.")
    for n in range(3):
        try_password(f"still not it {n}")
    expect(alert).to_have_text(
        "Email or password is incorrect. 4 tries left before this account is locked for 15 minutes."
    )
    expect(page.get_by_label("Email")).to_have_value(staff.email)  # kept for the next try
    for n in range(4):
        try_password(f"wrong again {n}")
    expect(alert).to_contain_text(
        "Too many failed tries for this account. Try again in 15 minutes."
    )

    # Even the right password waits; the reset link is the way in now.
    try_password(STAFF_PASSWORD)
    expect(alert).to_have_text(
        "Too many failed tries for this account. Try again in 15 minutes. "
        "Reset your password to log in now."
    )
    page.get_by_role("link", name="Reset your password to log in now.").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
