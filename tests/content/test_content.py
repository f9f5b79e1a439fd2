"""Homepage sections, newsletter, menus and static pages: back office and storefront."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from saas.cache import redis_client
from saas.db import db
from saas.models import AuditEvent
from saas.tenancy import tenant_context
from tenants.content.models import Menu, NewsletterSubscriber, Page, ThemeSettings


def draft_sections(app, tenant, theme: str = "base") -> list[dict]:
    with app.app_context(), tenant_context(tenant):
        row = db.session.scalar(select(ThemeSettings).where(ThemeSettings.theme == theme))
        return row.draft["sections"] if row else []


def section_ids(app, tenant) -> list[str]:
    return [s["id"] for s in draft_sections(app, tenant)]


def count(app, tenant, model) -> int:
    with app.app_context(), tenant_context(tenant):
        return db.session.scalar(select(func.count()).select_from(model))


def audit_actions(app, tenant) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.tenant_id == tenant.id))
        )


def add(client, kind: str) -> str:
    response = client.post("/admin/themes/sections", data={"type": kind})
    assert response.status_code == 302
    return response.headers["Location"].rsplit("/", 1)[-1]


# --- homepage sections -------------------------------------------------------------


def test_a_new_shop_shows_a_hero_and_its_products(make_tenant, shop_client):
    tenant = make_tenant(name="Fresh Shop", products=[("Kettle", 2000)])
    html = shop_client(tenant).get("/").text
    assert "<h1>Fresh Shop</h1>" in html and "Featured products" in html and "Kettle" in html


def test_sections_add_edit_reorder_remove_then_publish(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant(products=[("Kettle", 2000), ("Teapot", 3500)])
    editor = staff_client(tenant, permissions=["content"])
    shopper = shop_client(tenant)
    hero_id, featured_id = section_ids(app, tenant) or ("default-hero", "default-featured")
    rich = add(editor, "rich_text")
    product = add(editor, "featured_product")
    assert [s["type"] for s in draft_sections(app, tenant)] == [
        "hero", "featured_collection", "rich_text", "featured_product",
    ]  # fmt: skip
    form = editor.get(f"/admin/themes/sections/{rich}")
    assert form.status_code == 200 and '<label for="body">' in form.text
    saved = editor.post(
        f"/admin/themes/sections/{rich}",
        data={"heading": "Our promise", "body": "<p>Fresh <b>daily</b></p><script>alert(1)</script>"
              '<a href="javascript:alert(2)" onclick="x()">link</a>'},
    )  # fmt: skip
    assert saved.status_code == 302
    body = draft_sections(app, tenant)[2]["body"]
    assert "<script" not in body and "javascript:" not in body and "onclick" not in body
    assert "<b>daily</b>" in body
    picker = editor.get(f"/admin/themes/sections/{product}").text
    assert '<option value="teapot">Teapot</option>' in picker
    unknown = editor.post(f"/admin/themes/sections/{product}", data={"product": "nope"})
    assert unknown.status_code == 400 and "No product of this shop" in unknown.text
    editor.post(f"/admin/themes/sections/{product}", data={"heading": "Pick", "product": "teapot"})
    editor.post(f"/admin/themes/sections/{hero_id}", data={"heading": "Hello tea lovers"})

    # Move the featured product to the top (three steps up), then the rich text down.
    for _ in range(3):
        editor.post(f"/admin/themes/sections/{product}/move", data={"direction": "up"})
    editor.post(f"/admin/themes/sections/{rich}/move", data={"direction": "down"})
    assert section_ids(app, tenant)[0] == product and section_ids(app, tenant)[-1] == rich
    # Removing asks first, then removes.
    confirm = editor.get(f"/admin/themes/sections/{featured_id}/remove")
    assert "Remove the featured collection section?" in confirm.text
    assert featured_id in section_ids(app, tenant)
    editor.post(f"/admin/themes/sections/{featured_id}/remove")
    assert section_ids(app, tenant) == [product, hero_id, rich]

    assert "Our promise" not in shopper.get("/").text  # still a draft
    editor.post("/admin/themes/preview")
    preview = editor.get("/").text
    assert (
        preview.index("Teapot") < preview.index("Hello tea lovers") < preview.index("Our promise")
    )
    editor.post("/admin/themes/publish")
    html = shopper.get("/").text
    assert html.index("Teapot") < html.index("Hello tea lovers") < html.index("Our promise")
    assert "<b>daily</b>" in html and "alert(" not in html and "Featured products" not in html
    assert "theme.published" in audit_actions(app, tenant)


def test_invalid_section_input_is_refused(app, make_tenant, staff_client):
    tenant = make_tenant()
    editor = staff_client(tenant, permissions=["content"])
    before = draft_sections(app, tenant)
    response = editor.post(
        "/admin/themes/sections/default-hero",
        data={"heading": "Hi", "button_label": "Go", "button_url": "javascript:alert(1)"},
    )
    assert response.status_code == 400 and "starting with https://" in response.text
    assert 'value="Hi"' in response.text
    response = editor.post("/admin/themes/sections/default-featured", data={"count": "99"})
    assert response.status_code == 400 and "Enter the heading." in response.text
    assert "from 1 to 24" in response.text
    assert draft_sections(app, tenant) == before
    picture = add(editor, "image_with_text")
    response = editor.post(
        f"/admin/themes/sections/{picture}",
        data={"heading": "Us", "image": "https://evil.example/x.png", "side": "left"},
    )
    assert response.status_code == 400 and "one of this shop" in response.text
    assert editor.post("/admin/themes/sections", data={"type": "iframe"}).status_code == 302
    assert "iframe" not in [s["type"] for s in draft_sections(app, tenant)]
    assert editor.get("/admin/themes/sections/nope").status_code == 404


def test_sections_need_the_content_area(make_tenant, staff_client):
    tenant = make_tenant()
    orders_only = staff_client(tenant, permissions=["orders"])
    for path in ("/admin/themes/customize", "/admin/themes/menus", "/admin/themes/pages"):
        assert orders_only.get(path).status_code == 403
    assert orders_only.post("/admin/themes/sections", data={"type": "hero"}).status_code == 403
    assert orders_only.post("/admin/themes/publish").status_code == 403


# --- newsletter ----------------------------------------------------------------------


def test_newsletter_signup_validates_and_dedupes(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant()
    editor = staff_client(tenant, permissions=["content"])
    add(editor, "newsletter")
    editor.post("/admin/themes/publish")
    shopper = shop_client(tenant)
    home = shopper.get("/").text
    assert '<label for="newsletter-email-' in home and 'action="/newsletter"' in home
    bad = shopper.post("/newsletter", data={"email": "not an email"})
    assert (
        bad.status_code == 400 and 'role="alert"' in bad.text and 'value="not an email"' in bad.text
    )
    assert shopper.post("/newsletter", data={"email": "Ann@Example.com"}).status_code == 200
    again = shopper.post("/newsletter", data={"email": "ann@example.com "})
    assert again.status_code == 200 and "Thank you for subscribing" in again.text
    with app.app_context(), tenant_context(tenant):
        emails = list(db.session.scalars(select(NewsletterSubscriber.email)))
    assert emails == ["ann@example.com"]


def test_newsletter_signups_are_rate_limited(make_tenant, shop_client):
    tenant = make_tenant()
    shopper = shop_client(tenant)
    for n in range(10):
        assert shopper.post("/newsletter", data={"email": f"n{n}@example.com"}).status_code == 200
    limited = shopper.post("/newsletter", data={"email": "late@example.com"})
    assert limited.status_code == 429 and 'role="alert"' in limited.text
    assert (
        shop_client(make_tenant()).post("/newsletter", data={"email": "a@example.com"}).status_code
        == 200
    )


def test_newsletter_refuses_cross_site_posts(live_server, make_tenant):
    """The form has no CSRF token (its pages are cached for everyone); the browser's
    Origin/Referer says where a post comes from instead."""
    import http.client

    tenant = make_tenant()
    host = f"{tenant.slug}.localhost:{live_server.port}"

    def post(**headers: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
        conn.request(
            "POST",
            "/newsletter",
            body="email=bob%40example.com",
            headers={"Host": host, "Content-Type": "application/x-www-form-urlencoded", **headers},
        )
        status = conn.getresponse().status
        conn.close()
        return status

    assert post(Origin="https://evil.example") == 403
    assert post(Origin="null") == 403
    assert post(Referer=f"http://other-shop.localhost:{live_server.port}/") == 403
    assert post(Origin=f"http://{host}") == 200


def test_home_page_with_newsletter_is_cached(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant()
    editor = staff_client(tenant, permissions=["content"])
    add(editor, "newsletter")
    editor.post("/admin/themes/publish")
    shopper = shop_client(tenant)
    first = shopper.get("/")
    assert 'action="/newsletter"' in first.text and "csrf_token" not in first.text
    assert "Set-Cookie" not in first.headers and "public" in first.headers["Cache-Control"]
    with app.app_context():
        assert list(redis_client().scan_iter(f"t:{tenant.id}:page:*"))  # kept for everyone


# --- menus ---------------------------------------------------------------------------


def test_menus_edit_and_render(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant()
    editor = staff_client(tenant, permissions=["content"])
    assert "Main menu" in editor.get("/admin/themes/menus").text
    for title, url in (("About", "/pages/about"), ("Blog", "https://blog.example.com")):
        assert (
            editor.post("/admin/themes/menus/main", data={"title": title, "url": url}).status_code
            == 302
        )
    editor.post("/admin/themes/menus/footer", data={"title": "Refunds", "url": "/pages/refunds"})
    for bad in ("javascript:alert(1)", "http://blog.example.com", "/admin/", "//evil.example"):
        response = editor.post("/admin/themes/menus/main", data={"title": "X", "url": bad})
        assert response.status_code == 400 and 'aria-invalid="true"' in response.text
    assert editor.get("/admin/themes/menus/sidebar").status_code == 404
    editor.post("/admin/themes/menus/main/1/move", data={"direction": "up"})
    html = shop_client(tenant).get("/").text
    header = html[html.index("<header") : html.index("</header>")]
    footer = html[html.index("<footer") : html.index("</footer>")]
    assert header.index("Blog") < header.index("About")
    assert 'href="/pages/refunds"' in footer and "Refunds" not in header
    assert (
        "Remove “Blog” from the main menu?" in editor.get("/admin/themes/menus/main/0/remove").text
    )
    editor.post("/admin/themes/menus/main/0/remove")
    with app.app_context(), tenant_context(tenant):
        items = db.session.scalar(select(Menu.items).where(Menu.handle == "main"))
    assert items == [{"title": "About", "url": "/pages/about"}]
    assert "menu.updated" in audit_actions(app, tenant)


# --- pages ---------------------------------------------------------------------------


def test_pages_crud_and_storefront(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant(name="Page Shop")
    editor = staff_client(tenant, permissions=["content"])
    shopper = shop_client(tenant)
    assert "Add “Shipping policy”" in editor.get("/admin/themes/pages").text
    created = editor.post(
        "/admin/themes/pages/new",
        data={"title": "About us", "body": "<p>We <em>love</em> tea.</p><script>alert(1)</script>",
              "published": "1"},
    )  # fmt: skip
    assert created.status_code == 302
    with app.app_context(), tenant_context(tenant):
        page = db.session.scalar(select(Page))
        page_id, handle, body = page.id, page.handle, page.body_html
    assert handle == "about-us" and "<script" not in body and "<em>love</em>" in body

    html = shopper.get("/pages/about-us").text
    assert "<h1>About us</h1>" in html and "<em>love</em>" in html and "alert(1)" not in html
    assert "<title>About us — Page Shop</title>" in html
    assert f'<link rel="canonical" href="http://{tenant.slug}.localhost/pages/about-us">' in html
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    crumbs = next(json.loads(b) for b in blocks if "BreadcrumbList" in b)
    assert [i["name"] for i in crumbs["itemListElement"]] == ["Home", "About us"]

    # Duplicate handle: refused, values kept, nothing written.
    dup = editor.post("/admin/themes/pages/new", data={"title": "About us", "body": "x"})
    assert dup.status_code == 400 and "already uses the handle" in dup.text
    assert count(app, tenant, Page) == 1

    # Unpublish: the storefront says "not found", in the theme.
    editor.post(f"/admin/themes/pages/{page_id}", data={"title": "About us", "handle": "about-us"})
    missing = shopper.get("/pages/about-us")
    assert missing.status_code == 404 and "Page not found" in missing.text
    assert "Page Shop" in missing.text
    assert shopper.get("/pages/nope").status_code == 404

    assert "Delete the page “About us”?" in editor.get(f"/admin/themes/pages/{page_id}/delete").text
    assert count(app, tenant, Page) == 1
    editor.post(f"/admin/themes/pages/{page_id}/delete")
    assert count(app, tenant, Page) == 0
    assert {"page.created", "page.updated", "page.deleted"} <= set(audit_actions(app, tenant))


# --- isolation -----------------------------------------------------------------------


def test_shop_b_never_shows_shop_a_content(app, make_tenant, staff_client, shop_client):
    a, b = make_tenant(), make_tenant()
    editor_a = staff_client(a, permissions=["content"])
    secret = {"title": "Secret plans", "handle": "plans", "body": "A only", "published": "1"}
    editor_a.post("/admin/themes/pages/new", data=secret)
    editor_a.post("/admin/themes/menus/main", data={"title": "A-menu-link", "url": "/pages/plans"})
    rich = add(editor_a, "rich_text")
    editor_a.post(f"/admin/themes/sections/{rich}", data={"heading": "A-only-heading", "body": "x"})
    editor_a.post("/admin/themes/publish")
    with app.app_context(), tenant_context(a):
        page_a = db.session.scalar(select(Page.id))
    assert "A-only-heading" in shop_client(a).get("/").text

    visitor_b = shop_client(b)
    assert visitor_b.get("/pages/plans").status_code == 404
    html_b = visitor_b.get("/").text
    assert "A-menu-link" not in html_b and "A-only-heading" not in html_b
    editor_b = staff_client(b, permissions=["content"])
    assert editor_b.get(f"/admin/themes/pages/{page_a}").status_code == 404
    assert editor_b.get(f"/admin/themes/sections/{rich}").status_code == 404
    assert editor_b.post(f"/admin/themes/pages/{page_a}/delete").status_code == 404
    assert "Secret plans" not in editor_b.get("/admin/themes/pages").text
    assert "A-menu-link" not in editor_b.get("/admin/themes/menus").text
    assert count(app, a, Page) == 1 and count(app, b, Page) == 0


def test_every_back_office_content_form_renders(app, make_tenant, staff_client):
    tenant = make_tenant()
    editor = staff_client(tenant, permissions=["content"])
    from tenants.content.services import SECTION_TYPES

    ids = [add(editor, kind) for kind in SECTION_TYPES]
    for section_id in ids:
        html = editor.get(f"/admin/themes/sections/{section_id}").text
        assert "Save to draft" in html and "<h1>Edit " in html
    for path in ("/admin/themes", "/admin/themes/customize", "/admin/themes/menus",
                 "/admin/themes/menus/main", "/admin/themes/menus/footer", "/admin/themes/pages",
                 "/admin/themes/pages/new?title=FAQ", "/admin/themes/discard"):  # fmt: skip
        assert editor.get(path).status_code == 200, path
    customize = editor.get("/admin/themes/customize").text
    assert '<label for="accent_color">' in customize and '<label for="type">' in customize
    assert 'value="FAQ"' in editor.get("/admin/themes/pages/new?title=FAQ").text


def test_product_page_has_breadcrumb_json_ld(make_tenant, shop_client):
    tenant = make_tenant(products=[("Kettle </script>", 2000)])
    html = shop_client(tenant).get("/products/kettle-script").text
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    crumbs = next(json.loads(b) for b in blocks if "BreadcrumbList" in b)
    assert crumbs["itemListElement"][1]["name"] == "Kettle </script>"
    assert crumbs["itemListElement"][1]["item"].endswith("/products/kettle-script")
