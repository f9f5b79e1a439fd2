"""Themes: three looks on one base, settings with validation, draft, preview and publish."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from saas.theming import FONTS, contrast, discover, json_ld, validate_settings
from tenants.content.models import ThemeSettings
from tenants.settings.models import ShopSettings

GOOD = {
    "accent_color": "#0b5d3b",
    "background_color": "#ffffff",
    "text_color": "#111111",
    "heading_font": "mono",
    "body_font": "classic",
    "show_logo": "1",
    "logo_favicon": "1",
    "instagram": "https://instagram.com/tea",
    "facebook": "",
    "x": "https://x.com/tea",
    "tiktok": "",
}


def theme_rows(app, tenant) -> dict[str, tuple]:
    with app.app_context(), tenant_context(tenant):
        return {r.theme: (r.draft, r.published) for r in db.session.scalars(select(ThemeSettings))}


def json_ld_blocks(html: str) -> list:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return [json.loads(b) for b in blocks]


def test_built_in_themes_have_valid_readable_defaults():
    registry = discover()
    assert {"base", "boutique", "midnight"} <= set(registry)
    for theme in registry.values():
        defaults = theme.defaults()
        form = {
            k: ("1" if v is True else "" if v is False else str(v)) for k, v in defaults.items()
        }
        assert validate_settings(theme, form)[1] == {}, theme.name
        for key in ("text_color", "accent_color"):
            assert contrast(defaults[key], defaults["background_color"]) >= 4.5
        assert {"instagram", "facebook", "x", "tiktok", "show_logo", "logo_favicon"} <= set(
            theme.settings
        )


def test_each_theme_renders_different_markup_and_styles(make_tenant, shop_client):
    pages = {}
    for name in ("base", "boutique", "midnight"):
        tenant = make_tenant(theme=name, products=[("Green tea", 450)])
        pages[name] = shop_client(tenant).get("/").text
    assert 'class="grid products"' in pages["base"] and "product-list" not in pages["base"]
    assert 'class="site-header masthead"' in pages["boutique"]
    assert 'class="grid products"' in pages["boutique"]
    assert 'class="product-list products"' in pages["midnight"]
    assert 'class="site-header bar"' in pages["midnight"]
    assert "--bg:#ffffff" in pages["base"]
    assert "--bg:#fbf6ef" in pages["boutique"] and FONTS["classic"][1] in pages["boutique"]
    assert "--bg:#101218" in pages["midnight"] and FONTS["geometric"][1] in pages["midnight"]
    for html in pages.values():  # landmarks and the skip link in every theme
        for landmark in ('<header class="site-header', 'aria-label="Main"', '<main id="main">',
                         '<footer class="site-footer"', 'href="#main"'):  # fmt: skip
            assert landmark in html
        assert "Green tea" in html


def test_invalid_settings_show_errors_and_save_nothing(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["content"])
    bad = {
        **GOOD,
        "accent_color": "red; } body { display:none",
        "text_color": "#fefefe",  # white on white
        "heading_font": "Comic Sans",
        "instagram": "http://instagram.com/tea",
        "x": "javascript:alert(1)",
    }
    response = client.post("/admin/themes/customize", data=bad)
    assert response.status_code == 400
    html = response.text
    assert "Nothing was saved." in html
    assert "six hex digits" in html and "too close to the background" in html
    assert "Choose one of the fonts" in html and html.count("starting with https://") == 2
    assert 'value="http://instagram.com/tea"' in html  # the user's values are kept
    assert 'aria-invalid="true"' in html
    assert theme_rows(app, tenant) == {}


def test_draft_preview_and_publish(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant(name="Tea House")
    staff = staff_client(tenant, permissions=["content"])
    shopper = shop_client(tenant)
    response = staff.post("/admin/themes/customize", data=GOOD, follow_redirects=True)
    assert "saved as a draft" in response.text and "You have unpublished changes." in response.text
    draft, published = theme_rows(app, tenant)["base"]
    assert draft["settings"]["accent_color"] == "#0b5d3b" and published is None

    assert "#0b5d3b" not in shopper.get("/").text
    assert "#0b5d3b" not in staff.get("/").text  # staff see the draft only when they ask
    start = staff.post("/admin/themes/preview")
    assert start.status_code == 302 and start.headers["Location"].endswith("/")
    preview = staff.get("/")
    assert "--accent:#0b5d3b" in preview.text and "unpublished theme changes" in preview.text
    assert preview.headers["Cache-Control"] == "private, no-store"
    assert "#0b5d3b" not in shopper.get("/").text
    assert "instagram.com/tea" not in shopper.get("/").text

    staff.post("/admin/themes/publish")
    home = shopper.get("/").text
    assert "--accent:#0b5d3b" in home and "unpublished" not in home
    assert FONTS["mono"][1] in home
    assert 'href="https://instagram.com/tea"' in home and 'href="https://x.com/tea"' in home
    organization = json_ld_blocks(home)[0]
    assert organization["@type"] == "Organization" and organization["name"] == "Tea House"
    assert organization["sameAs"] == ["https://instagram.com/tea", "https://x.com/tea"]
    assert theme_rows(app, tenant)["base"][1]["settings"]["accent_color"] == "#0b5d3b"
    assert "Everything is published" in staff.get("/admin/themes/customize").text


def test_preview_needs_signed_in_content_staff(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant()
    editor = staff_client(tenant, permissions=["content"])
    editor.post("/admin/themes/customize", data=GOOD)
    # A visitor cannot switch preview on, by form or by query string.
    visitor = shop_client(tenant)
    assert visitor.post("/admin/themes/preview").status_code in (302, 401, 403)
    with visitor.session_transaction(base_url=f"http://{tenant.slug}.localhost") as session:
        session["theme_preview"] = True  # even a session that says so (not signed in)
    assert "#0b5d3b" not in visitor.get("/?preview=1").text
    # Staff without the content area never get the draft either.
    orders_only = staff_client(tenant, permissions=["orders"])
    with orders_only.session_transaction(base_url=f"http://{tenant.slug}.localhost") as session:
        session["theme_preview"] = True
    assert "#0b5d3b" not in orders_only.get("/").text


def test_preview_session_is_useless_on_another_shop(app, make_tenant, staff_client, shop_client):
    a, b = make_tenant(), make_tenant()
    editor_a = staff_client(a, permissions=["content"])
    editor_a.post("/admin/themes/customize", data=GOOD)
    editor_a.post("/admin/themes/preview")
    assert "#0b5d3b" in editor_a.get("/").text
    cookie = editor_a.get_cookie(app.config["SESSION_COOKIE_NAME"], domain=f"{a.slug}.localhost")
    other = shop_client(b)
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie.value, domain=f"{b.slug}.localhost")
    html = other.get("/").text
    assert "#0b5d3b" not in html and "unpublished theme changes" not in html
    assert other.get("/admin/themes/customize").status_code == 302  # not signed in there
    assert theme_rows(app, b) == {}


def test_settings_of_one_shop_never_show_on_another(make_tenant, staff_client, shop_client):
    a, b = make_tenant(), make_tenant()
    editor = staff_client(a, permissions=["content"])
    editor.post("/admin/themes/customize", data=GOOD)
    editor.post("/admin/themes/publish")
    assert "#0b5d3b" in shop_client(a).get("/").text
    html_b = shop_client(b).get("/").text
    assert "#0b5d3b" not in html_b and "instagram.com/tea" not in html_b


def test_logo_and_favicon_come_from_shop_settings(app, make_tenant, shop_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        db.session.get(ShopSettings, 1).logo_file = "logo-abc.png"
        db.session.commit()
    html = shop_client(tenant).get("/").text
    assert '<img class="logo" src="/media/logo-abc.png"' in html
    assert '<link rel="icon" href="/media/logo-abc.png">' in html
    assert json_ld_blocks(html)[0]["logo"].endswith("/media/logo-abc.png")


def test_seo_head_is_absolute_and_on_the_shop_host(make_tenant, shop_client):
    tenant = make_tenant(name="Seo Shop")
    html = shop_client(tenant).get("/?utm_source=x").text
    assert f'<link rel="canonical" href="http://{tenant.slug}.localhost/">' in html
    assert f'<meta property="og:url" content="http://{tenant.slug}.localhost/">' in html
    assert '<meta property="og:title" content="Seo Shop">' in html
    assert '<meta name="description"' in html and '<meta name="viewport"' in html


def test_json_ld_cannot_break_out_of_its_script(make_tenant, shop_client):
    evil = "</script><script>alert(1)</script>"
    assert "<" not in json_ld({"name": evil}) and "\\u003c/script\\u003e" in json_ld(evil)
    tenant = make_tenant(name=evil)
    html = shop_client(tenant).get("/").text
    assert "<script>alert(1)" not in html
    assert json_ld_blocks(html)[0]["name"] == evil
    assert html.count("<script") == html.count("</script>")


def test_theme_switch_keeps_the_homepage_sections(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant()
    editor = staff_client(tenant, permissions=["content"])
    editor.post("/admin/themes/sections", data={"type": "rich_text"})
    editor.post("/admin/themes/publish")
    editor.post("/admin/themes", data={"theme": "midnight"})
    html = shop_client(tenant).get("/").text
    assert 'class="theme-midnight"' in html and "Tell shoppers about your shop." in html
