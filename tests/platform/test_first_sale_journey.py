"""A merchant's first hour, end to end in real Chromium, following only visible labels:
sign up a brand-new shop, add a product, offer bank transfer, confirm the suggested
shipping rate, launch, and sell the product to a shopper who pays by bank transfer; the
dashboard then shows the new order.

The journey counts its actions and fails above 25. An action is what a person does with
the pointer: a click on a link or button, a tick, a choice in a list. Typing into a field
is part of the action that sends the form (a form of five fields is not five actions).
"""

from __future__ import annotations

import re
import uuid

from tests.chromium import playwright_api

MOST_ACTIONS = 25


class Counted:
    """A Playwright page whose clicks, ticks and choices are counted."""

    def __init__(self, page) -> None:
        self.page, self.actions, self.log = page, 0, []

    def _count(self, what: str) -> None:
        self.actions += 1
        self.log.append(what)

    def click(self, locator, what: str) -> None:
        self._count(what)
        locator.click()

    def check(self, locator, what: str) -> None:
        self._count(what)
        locator.check()

    def choose(self, locator, value: str, what: str) -> None:
        self._count(what)
        locator.select_option(value)


def test_a_new_merchant_signs_up_and_sells_one_product_within_25_actions(app, browser, live_server):
    expect = playwright_api.expect
    suffix = uuid.uuid4().hex[:6]
    name = f"Fern Pottery {suffix}"
    email = f"fern-{suffix}@example.com"
    merchant_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    shopper_page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    merchant, shopper = Counted(merchant_page), Counted(shopper_page)
    m, s = merchant_page, shopper_page

    # Sign up on the platform.
    m.goto(live_server.url("localhost"))
    merchant.click(m.get_by_role("link", name="Start your shop").first, "start")
    m.get_by_label("Shop name").fill(name)
    m.get_by_label("Your name").fill("Fern Ruiz")
    m.get_by_label("Email", exact=True).fill(email)
    m.get_by_label("Confirm email").fill(email)
    m.get_by_label("Password").fill("saffron-kettle-meadow-31")
    merchant.click(m.get_by_role("button", name="Create my shop"), "create shop")
    expect(m.get_by_role("heading", name=f"Welcome to {name}")).to_be_visible()
    home = m.url

    # The checklist leads: a product first.
    merchant.click(m.get_by_role("link", name="Add a product").first, "checklist: product")
    merchant.click(m.get_by_role("link", name=re.compile(r"^Add (a )?product$")).first, "add")
    m.get_by_label("Title").fill("Stoneware Bowl")
    m.get_by_label(re.compile(r"^Price")).fill("24.00")
    merchant.click(m.get_by_role("button", name=re.compile(r"^(Add|Save) product$")), "save")
    expect(m.get_by_text("Stoneware Bowl").first).to_be_visible()

    # Payments: bank transfer.
    merchant.click(m.get_by_role("link", name="Home", exact=True).first, "home")
    merchant.click(m.get_by_role("link", name="Set up payments").first, "checklist: payments")
    merchant.check(m.get_by_label("Offer bank transfer"), "bank transfer")
    m.get_by_label("Bank transfer instructions").fill("Pay to IBAN FR76 1234, reference: order.")
    merchant.click(m.get_by_role("button", name="Save payment settings"), "save payments")

    # Shipping: the suggested rate, confirmed.
    merchant.click(m.get_by_role("link", name="Home", exact=True).first, "home")
    merchant.click(m.get_by_role("link", name="Review your shipping rate").first, "shipping")
    merchant.click(m.get_by_role("button", name="Confirm shipping rate"), "confirm rate")

    # Launch.
    merchant.click(m.get_by_role("link", name="Home", exact=True).first, "home")
    merchant.click(m.get_by_role("button", name="Launch your shop"), "launch")
    expect(m.get_by_text("Your shop is live").first).to_be_visible()
    shop_url = re.sub(r"/admin/?$", "/", home)

    # A shopper finds the bowl and pays by bank transfer.
    s.goto(shop_url)
    shopper.click(s.get_by_role("link", name="Stoneware Bowl").first, "product")
    shopper.click(s.get_by_role("button", name="Add to cart"), "add to cart")
    shopper.click(s.get_by_role("link", name="Check out"), "check out")
    s.get_by_label("Email").fill("ann@example.com")
    s.get_by_label("Full name").fill("Ann Lee")
    s.get_by_label("Address", exact=True).fill("1 Oak Street")
    s.get_by_label("City").fill("Portland")
    country = s.get_by_label("Country")
    if country.input_value() != "US":
        shopper.choose(country, "US", "country")
    s.get_by_label("Postal code").fill("97201")
    shopper.click(s.get_by_role("button", name="Continue to shipping"), "continue")
    region = s.get_by_label("State, province or region")
    if region.count() and not s.get_by_role("heading", name=re.compile("Shipping")).count():
        shopper.choose(region, "US-OR", "state")
        shopper.click(s.get_by_role("button", name="Continue to shipping"), "continue")
    standard = s.get_by_label(re.compile(r"^Standard"))
    if not standard.is_checked():
        shopper.check(standard, "shipping rate")
    shopper.click(s.get_by_role("button", name="Continue to payment"), "continue")
    bank = s.get_by_label("Bank transfer")
    if not bank.is_checked():
        shopper.check(bank, "pay by bank transfer")
    shopper.click(s.get_by_role("button", name="Review your order"), "review")
    shopper.click(s.get_by_role("button", name=re.compile(r"Place order")), "place order")
    expect(s.get_by_role("heading", name=re.compile(r"^Order #\d+"))).to_be_visible()
    expect(s.get_by_text("Pay to IBAN FR76 1234").first).to_be_visible()

    # The merchant sees the new order on the dashboard.
    merchant.click(m.get_by_role("link", name="Home", exact=True).first, "home")
    waiting = m.locator("section", has=m.get_by_role("heading", name="Orders to handle"))
    expect(waiting).to_contain_text("Ann Lee")
    expect(waiting.locator(".stat", has_text="To pay")).to_contain_text("1")

    actions = merchant.actions + shopper.actions
    print(f"first sale in {actions} actions: {merchant.log + shopper.log}")
    assert actions <= MOST_ACTIONS, f"{actions} actions: {merchant.log + shopper.log}"
