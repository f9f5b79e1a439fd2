"""What every theme shows a shopper: the hero's call to action, cards with sale and
sold-out states, and a footer with the shop's contact, its pages and social links."""

from __future__ import annotations

import re

import pytest

from saas.db import db
from saas.tenancy import tenant_context
from saas.theming import get_theme, validate_settings
from tenants.catalog.models import Product
from tenants.content import services as content
from tenants.settings.models import ShopSettings

THEMES = ("base", "boutique", "midnight")


def dress_shop(app, tenant, theme_name: str) -> None:
    """A sale, a sold-out product, contact details, a phone, a policy page, social links."""
    with app.app_context(), tenant_context(tenant):
        shirt = db.session.query(Product).filter_by(title="Linen Shirt").one()
        shirt.variants[0].compare_at_cents = 3000
        coat = db.session.query(Product).filter_by(title="Wool Coat").one()
        coat.inventory_quantity = 0
        coat.variants[0].inventory_tracked, coat.variants[0].inventory_quantity = True, 0
        settings = db.session.get(ShopSettings, 1)
        settings.contact_email = "hello@tea.example"
        settings.address_line1, settings.city = "1 Leaf Lane", "Portland"
        settings.region, settings.postal_code, settings.country = "US-OR", "97201", "US"
        content.save_page(
            None, {"title": "Refund policy", "body": "<p>30 days.</p>", "published": "1"}
        )
        theme = get_theme(theme_name)
        form = {
            k: ("1" if v is True else "" if v is False else str(v))
            for k, v in theme.defaults().items()
        }
        form |= {"phone": "+1 503 555 0142", "instagram": "https://instagram.com/tea"}
        assert not content.save_settings(theme, form)
        content.publish(theme_name)
        db.session.commit()


@pytest.mark.parametrize("theme", THEMES)
def test_home_shows_hero_cta_cards_and_footer(app, make_tenant, shop_client, theme):
    tenant = make_tenant(
        name="Leaf & Co",
        theme=theme,
        products=[("Linen Shirt", 2000), ("Wool Coat", 9000), ("Tea Towel", 800)],
    )
    dress_shop(app, tenant, theme)
    html = shop_client(tenant).get("/").text

    # The default hero: the shop's name and a way into the whole catalogue.
    assert "<h1>Leaf &amp; Co</h1>" in html
    assert re.search(r'<a class="button[^"]*" href="/collections/all">Shop all</a>', html)
    # Cards: the sale shows both prices and a badge; the coat says it is sold out.
    assert html.count(">Sale</span>") == 1 and html.count(">Sold out</span>") == 1
    assert re.search(
        r"Sale price</span> <span class=\"price-now\">\$20\.00</span>\s*"
        r'<s class="compare-at"><span class="visually-hidden">Regular price</span> \$30\.00</s>',
        html,
    )
    # The footer: how to reach the shop, its pages, where to follow it.
    footer = html[html.index('<footer class="site-footer"') :]
    assert '<a href="mailto:hello@tea.example">hello@tea.example</a>' in footer
    assert '<a href="tel:+15035550142">+1 503 555 0142</a>' in footer
    assert "1 Leaf Lane<br>Portland, OR 97201<br>United States" in footer
    assert '<a href="/pages/refund-policy">Refund policy</a>' in footer
    assert 'href="https://instagram.com/tea"' in footer


def test_a_hero_picture_has_its_size_and_copies(app, make_tenant, shop_client):
    import io

    from PIL import Image

    from tenants.catalog.images import add_image

    tenant = make_tenant(products=[("Kettle", 2000)])
    with app.app_context(), tenant_context(tenant):
        kettle = db.session.query(Product).one()
        picture = io.BytesIO()
        Image.new("RGB", (1200, 800), "teal").save(picture, format="JPEG")
        picture.seek(0)
        image = add_image(kettle, picture, alt="A kettle")
        db.session.flush()
        section = content.add_section("base", "hero")
        errors = content.update_section(
            "base",
            section["id"],
            {
                "heading": "Tea time",
                "button_label": "Shop kettles",
                "button_url": "/products/kettle",
                "image": f"/media/{image.file}",
                "image_alt": "A kettle on a stove",
            },
        )
        assert not errors
        content.publish("base")
        db.session.commit()
    html = shop_client(tenant).get("/").text
    hero = re.search(r'<img class="hero-image"[^>]*>', html)
    assert hero is not None
    for part in ('width="1200"', 'height="800"', 'alt="A kettle on a stove"',
                 'fetchpriority="high"'):  # fmt: skip
        assert part in hero.group(0)
    assert 'href="/products/kettle">Shop kettles</a>' in html


def test_phone_setting_is_checked():
    theme = get_theme_from_disk("base")
    form = {
        k: ("1" if v is True else "" if v is False else str(v)) for k, v in theme.defaults().items()
    }
    assert "phone" not in validate_settings(theme, {**form, "phone": "+44 20 7946 0958"})[1]
    assert "phone" in validate_settings(theme, {**form, "phone": "call us <b>"})[1]


def get_theme_from_disk(name: str):
    from saas.theming import discover

    return discover()[name]
