"""The review-request email in each theme's look: an HTML part beside the unchanged
text, with the shop's accent and fonts inline, its lines' titles (escaped), pictures
and signed links, delivered as multipart/alternative, and never another shop's name."""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from saas import mail
from saas.db import db
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from saas.theming import FONTS, get_theme
from tenants.catalog.models import ProductImage
from tenants.orders.models import Fulfillment, Order
from tenants.reviews import emails
from tests.backoffice.test_browser_phone import log_in
from tests.chromium import playwright_api
from tests.fakes.smtp import capture_smtp
from tests.reviews.conftest import buy


def _deliver(app, tenant, order_id: int) -> None:
    """The order delivered 8 days ago, so its request is due."""
    with app.app_context(), tenant_context(tenant):
        order = db.session.get(Order, order_id)
        when = datetime.now(UTC) - timedelta(days=8)
        order.fulfillments.append(
            Fulfillment(
                lines=[{"line_id": line.id, "quantity": 1} for line in order.lines],
                created_at=when,
                delivered_at=when,
            )
        )


def _links(message: OutboxMessage) -> list[str]:
    """The signed links of the text part (signed with the moment: read, not remade)."""
    found = re.findall(r"Review it: (\S+)", message.body)
    assert found
    return found


def _request(app, tenant, title: str = "Clay Mug", **kwargs):
    """An order of `title` delivered and its request sent: the outbox row, the link."""
    item = buy(app, tenant, title, **kwargs)
    _deliver(app, tenant, item.order_id)
    with app.app_context(), tenant_context(tenant):
        assert emails.send_request(item.order_id)
    with app.app_context(), tenant_context(tenant):
        message = db.session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.dedupe_key == f"review-request-{item.order_id}"
            )
        )
        db.session.expunge_all()
    return item, message, _links(message)[0]


@pytest.mark.parametrize("theme_name", ["base", "boutique", "midnight"])
def test_each_theme_sends_its_own_look_with_the_text_unchanged(app, make_tenant, theme_name):
    tenant = make_tenant(name="Kiln & Co", theme=theme_name)
    item, message, url = _request(app, tenant, "<script>alert(1)</script> Mug")
    with app.app_context():
        theme = get_theme(theme_name)
    defaults = theme.defaults()
    # The text part is the one the email always had.
    with app.test_request_context(), tenant_context(tenant):
        order = db.session.get(Order, item.order_id)
        title = order.lines[0].title
        assert message.body == emails.body(order, [(title, url)])
    assert "Review it: " + url in message.body

    page = message.html_body
    assert page and page.lstrip().startswith("<!DOCTYPE html>")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Mug" in page
    text = htmllib.unescape(page)  # attributes hold the font stacks' quotes as &#34;
    assert defaults["accent_color"] in text and defaults["text_color"] in text
    assert FONTS[defaults["heading_font"]][1] in text and FONTS[defaults["body_font"]][1] in text
    assert f'href="{url}"' in text and "Write a review" in text and "★★★★★" in text
    assert "Kiln &amp; Co" in page and "max-width:600px" in page and "<style" not in page
    if theme_name == "boutique":
        assert 'align="center"' in page and "3px double" in page and "font-weight:400" in page
    elif theme_name == "midnight":
        assert "text-transform:uppercase" in page and "font-weight:900" in page
        assert f"border-left:6px solid {defaults['accent_color']}" in page
        assert f"background:{defaults['background_color']}" in page  # the dark ground
    else:
        assert 'align="left"' in page and "border-radius:6px" in page


def test_the_merchants_own_colours_pictures_and_every_line_are_in_it(app, make_tenant):
    from tenants.content import services as content

    tenant = make_tenant(theme="boutique")
    with app.test_request_context(), tenant_context(tenant):
        theme = get_theme("boutique")
        form = {**content.look(theme)["settings"], "accent_color": "#6b2d5c"}
        assert content.save_settings(theme, {k: str(v) for k, v in form.items()}) == {}
        content.publish("boutique")
    item = buy(app, tenant, "Vase")
    with app.app_context(), tenant_context(tenant):
        db.session.add(
            ProductImage(
                product_id=item.product_id,
                file="vase.jpg",
                alt="A blue vase",
                width=800,
                height=800,
                sizes=[320, 640],
            )
        )
    second = buy(app, tenant, "Bowl")
    with app.app_context(), tenant_context(tenant):
        order = db.session.get(Order, item.order_id)
        bowl_line = db.session.get(Order, second.order_id).lines[0]
        bowl_line.order_id = order.id  # one order of two lines
    _deliver(app, tenant, item.order_id)
    with app.app_context(), tenant_context(tenant):
        assert emails.send_request(item.order_id)
        message = db.session.scalar(select(OutboxMessage))
    urls = _links(message)
    page = message.html_body
    assert "#6b2d5c" in page
    assert re.search(r'<img src="https?://[^"]+/media/vase-320w\.jpg" alt="A blue vase"', page)
    assert page.count("<img") == 1  # the bowl has no picture
    assert len(urls) == 2 and all(f'href="{u}"' in page for u in urls)
    assert "Vase" in page and "Bowl" in page


def test_smtp_delivers_text_and_html_as_alternatives(app, make_tenant, monkeypatch):
    sent = capture_smtp(monkeypatch, app)
    tenant = make_tenant(theme="midnight")
    _item, message, url = _request(app, tenant)  # delivered when its unit commits
    [email] = sent
    assert email.get_content_type() == "multipart/alternative"
    text, page = email.iter_parts()
    assert text.get_content_type() == "text/plain" and "Review it: " + url in text.get_content()
    assert page.get_content_type() == "text/html"
    assert page.get_content().strip() == message.html_body.strip()
    with app.app_context(), tenant_context(tenant):
        assert db.session.get(OutboxMessage, message.id).sent_at is not None


def test_a_plain_message_stays_plain(app, make_tenant, monkeypatch):
    delivered = []
    monkeypatch.setattr(mail, "_deliver", lambda url, to, subject, body: delivered.append(body))
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://mail.example.test:25")
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        row = mail.send_email("a@example.com", "Hi", "Just text")
        assert row.html_body is None
    assert delivered == ["Just text"]


def test_one_shops_email_never_names_another(app, make_tenant):
    first = make_tenant(name="Alder Pottery", theme="boutique")
    second = make_tenant(name="Birch Games", theme="midnight")
    _item, mine, _url = _request(app, first, "Alder Cup")
    _item, theirs, their_url = _request(app, second, "Birch Dice")
    assert "Birch" not in mine.html_body and "Birch" not in mine.body
    assert "Alder" not in theirs.html_body and "Alder" not in theirs.body
    assert first.slug not in theirs.html_body and second.slug in their_url
    with app.app_context(), tenant_context(first):
        bodies = db.session.scalars(select(OutboxMessage.html_body)).all()
        assert bodies and not any("Birch" in (b or "") for b in bodies)


def test_the_outbox_shows_the_html_beside_the_text_sandboxed(app, make_tenant, staff_client):
    tenant = make_tenant(theme="midnight")
    _item, message, _url = _request(app, tenant, "<b>Bold</b> Mug")
    client = staff_client(tenant, role="owner")
    page = client.get("/admin/outbox").text
    assert f'<iframe class="email-html" sandbox src="/admin/outbox/{message.id}/html"' in page
    assert "Review it: " in page and "<b>Bold</b>" not in page
    shown = client.get(f"/admin/outbox/{message.id}/html")
    assert shown.status_code == 200 and shown.mimetype == "text/html"
    policy = shown.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "script-src" not in policy
    assert "&lt;b&gt;Bold&lt;/b&gt; Mug" in shown.text
    other = staff_client(make_tenant(), role="owner")
    assert other.get(f"/admin/outbox/{message.id}/html").status_code == 404


def test_the_merchant_sees_the_themed_email_in_the_outbox(
    app, page, live_server, make_tenant, make_staff
):
    expect = playwright_api.expect
    tenant = make_tenant(name="Night Owl", theme="midnight")
    owner = make_staff(tenant, role="owner")
    _request(app, tenant, "Lantern")
    host = f"{tenant.slug}.localhost"
    log_in(page, live_server, host, owner)
    page.goto(live_server.url(host, "/admin/outbox"))
    email = page.frame_locator("iframe.email-html")
    expect(email.get_by_role("link", name="Write a review")).to_be_visible()
    heading = email.get_by_role("heading", name="How do you like your order?")
    # The email's own inline styles apply inside its frame (the back office's policy
    # would drop them): midnight's heavy uppercase heading on its dark ground.
    expect(heading).to_have_css("text-transform", "uppercase")
    expect(heading).to_have_css("font-weight", "900")
