"""The inbox end to end in real Chromium, by visible labels and headings: a shopper
writes from the contact page, gets the automatic reply, the merchant answers from the
Inbox, and the shopper reads and answers through the emailed link, without an account."""

from __future__ import annotations

from tests.chromium import playwright_api
from tests.inbox.helpers import outbox, path_of, run_jobs, thread_link


def test_a_shopper_and_the_merchant_talk_through_the_inbox(
    browser, live_server, app, make_tenant, make_staff
):
    expect = playwright_api.expect
    tenant = make_tenant(name="Juniper Goods")
    host = f"{tenant.slug}.localhost"
    staff = make_staff(tenant, permissions=["inbox"], name="Robin")

    shopper = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    shopper.goto(live_server.url(host, "/"))
    shopper.get_by_role("contentinfo").get_by_role("link", name="Contact us").click()
    expect(shopper.get_by_role("heading", name="Contact us")).to_be_visible()
    shopper.get_by_label("Your name").fill("Jo Shopper")
    shopper.get_by_label("Email").fill("jo@example.com")
    shopper.get_by_label("Message").fill("Hello, do you ship to Canada? I'd like two mugs.")
    shopper.get_by_role("button", name="Send message").click()
    expect(
        shopper.get_by_role("heading", name="Thank you, your message is on its way")
    ).to_be_visible()

    run_jobs(app)
    [(to, subject, body)] = outbox(app, tenant)
    assert to == "jo@example.com" and subject.startswith("We received your message")

    merchant = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    merchant.goto(live_server.url(host, "/admin/login"))
    merchant.get_by_label("Email").fill(staff.email)
    merchant.get_by_label("Password").fill(staff.password)
    merchant.get_by_role("button", name="Log in").click()
    merchant.get_by_role("navigation", name="Back office").get_by_role(
        "link", name="Inbox 1 unread"
    ).click()
    expect(merchant.get_by_role("heading", name="Inbox (1 unread)")).to_be_visible()
    merchant.get_by_role("link", name="Hello, do you ship to Canada?").click()
    expect(merchant.get_by_role("article").filter(has_text="two mugs")).to_be_visible()
    merchant.get_by_label("Your reply").fill("Yes, we ship to Canada in 5-8 days.")
    merchant.get_by_role("button", name="Send reply").click()
    expect(merchant.get_by_text("Reply sent to jo@example.com.")).to_be_visible()

    run_jobs(app)
    _, (to, subject, body) = outbox(app, tenant)
    assert to == "jo@example.com" and subject.startswith("Re: ")
    shopper.goto(live_server.url(host, path_of(thread_link(body))))
    expect(shopper.get_by_role("heading", name="Hello, do you ship to Canada?")).to_be_visible()
    expect(shopper.get_by_text("Yes, we ship to Canada in 5-8 days.")).to_be_visible()
    shopper.get_by_label("Message").fill("Great, ordering now. Thanks!")
    shopper.get_by_role("button", name="Send answer").click()
    expect(shopper.get_by_role("status")).to_contain_text("Your message was sent.")
    expect(shopper.get_by_text("Great, ordering now. Thanks!")).to_be_visible()

    merchant.reload()
    expect(merchant.get_by_text("Great, ordering now. Thanks!")).to_be_visible()
    shopper.context.close()
    merchant.context.close()
