"""The points pages are valid HTML in every theme (the Nu Html Checker, as
tests/shop/test_html_valid.py runs it on the other pages): the account's points page, the
checkout's payment step with points, the review with a points line, and the back
office's programme and customer pages."""

from __future__ import annotations

from saas.db import db
from saas.tenancy import tenant_context
from tenants.loyalty import points, referrals, tiers
from tenants.loyalty.models import LoyaltyTier
from tests.checkout.test_checkout import add_to_cart, open_shop, through_to_review
from tests.conftest import log_in_as
from tests.loyalty.test_points_checkout import customer_with_points
from tests.shop.test_html_valid import assert_valid, check_html, checker_command, get, post

THEMES = ("base", "boutique", "midnight")


def test_points_pages_are_valid_html(app, make_tenant, shop_client, staff_client, tmp_path):
    command = checker_command()
    pages: dict[str, str] = {}
    for theme in THEMES:
        shop = make_tenant(theme=theme)
        variant = open_shop(app, shop)
        ann, principal = customer_with_points(app, shop, 5000)
        with app.app_context(), tenant_context(shop):
            points.program().birthday_points = 50
            points.program().referral_percent = 15
            points.program().referral_points = 200
            code = referrals.code_for(ann)
            db.session.add_all(
                [
                    LoyaltyTier(name="Silver", threshold=1, discount_percent=5),
                    LoyaltyTier(name="Gold", threshold=900, free_shipping=True),
                ]
            )
            points.award(ann, 10, "bonus", key="bonus")
            points.program().tier_basis = "points"
            tiers.recompute(ann)
        client = shop_client(shop)
        log_in_as(client, principal)
        pages[f"{theme} account points"] = get(client, "/account/points")
        pages[f"{theme} account settings, birthday"] = get(client, "/account/settings")
        pages[f"{theme} referral welcome"] = get(shop_client(shop), f"/r/{code}")
        add_to_cart(client, variant, 2)
        through_to_review(client)
        pages[f"{theme} payment, points"] = get(client, "/checkout/payment")
        client.post("/checkout/points", data={"points": "500"})
        pages[f"{theme} payment, points used"] = get(client, "/checkout/payment")
        pages[f"{theme} review, points"] = get(client, "/checkout/review")
        if theme == "base":
            owner = staff_client(shop, role="owner")
            pages["admin programme"] = get(owner, "/admin/customers/points")
            pages["admin programme, mistakes"] = post(
                owner, "/admin/customers/points", {"points_per_unit": "x"}, 400
            )
            pages["admin customer, points"] = get(owner, f"/admin/customers/{ann}")
            pages["admin tier, new"] = get(owner, "/admin/customers/points/tiers/new")
            pages["admin tier, mistakes"] = post(
                owner, "/admin/customers/points/tiers/new", {"name": ""}, 400
            )
            pages["admin customer, adjust mistakes"] = post(
                owner, f"/admin/customers/{ann}", {"form": "points", "points": "x"}, 400
            )
    messages = check_html(command, pages, tmp_path / "pages")
    assert_valid(messages, list(pages))
