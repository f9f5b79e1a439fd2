"""The storefront's contact page, FAQ page and a conversation's page by its signed link:
messages open or continue conversations, the automatic reply goes out after the
commit, and spam (a honeypot, too many posts, markup, large files) is kept out."""

from __future__ import annotations

import io

from saas.tenancy import tenant_context
from tenants.inbox import faq
from tenants.inbox.models import Topic
from tests.customers.test_customers import make_order
from tests.inbox.helpers import contact, conversations, outbox, path_of, png, run_jobs, thread_link


def add_faq(app, tenant, *entries):
    with app.app_context(), tenant_context(tenant):
        for question, answer in entries:
            faq.add_entry(question, answer)


def test_a_message_opens_a_conversation_and_gets_the_automatic_reply(app, make_tenant, shop_client):
    tenant = make_tenant()
    add_faq(
        app,
        tenant,
        ("How long does delivery take?", "Orders ship within 2 days; delivery takes 3-5 days."),
        ("Can I return an item?", "Yes, within 30 days, unworn, with the receipt."),
        ("Do you gift wrap?", "Yes, choose gift wrapping at checkout."),
    )
    client = shop_client(tenant)
    page = client.get("/contact")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'role="alert"' not in html  # nothing wrong yet
    for label in ("Your name", "Email", "Order number", "Message", "Attachment"):
        assert f">{label}" in html
    assert page.headers["Cache-Control"] == "private, no-store"

    response = contact(
        client,
        message="<b>Hi</b>, I'd like to return the jacket, it's too small. How do I do that?",
        attachment=(io.BytesIO(png()), "parcel photo.png"),
    )
    assert response.status_code == 200
    assert "your message is on its way" in response.get_data(as_text=True)
    [conversation] = conversations(app, tenant)
    assert conversation["email"] == "jo@example.com" and conversation["unread"]
    assert conversation["topic"] == Topic.RETURNS and conversation["topic_source"] == "rule"
    [(direction, body, files)] = conversation["messages"]
    assert direction == "in" and body.startswith("Hi, I'd like") and "<b>" not in body
    assert files == ["parcel photo.jpg"]  # re-encoded: only the pixels are kept

    assert outbox(app, tenant) == []  # only once the job runs, after the commit
    run_jobs(app)
    [(to, subject, body)] = outbox(app, tenant)
    assert to == "jo@example.com" and subject.startswith("We received your message")
    assert "within a day" in body
    assert "Can I return an item?" in body and "Yes, within 30 days" in body
    assert "Do you gift wrap?" not in body  # only the entries close to the message
    assert thread_link(body)
    run_jobs(app)  # a second run sends nothing twice
    assert len(outbox(app, tenant)) == 1


def test_the_thread_link_shows_the_conversation_and_takes_an_answer(app, make_tenant, shop_client):
    tenant = make_tenant()
    client = shop_client(tenant)
    contact(client, message="Does the linen shirt come in navy?")
    run_jobs(app)
    link = path_of(thread_link(outbox(app, tenant)[0][2]))
    other = shop_client(tenant)  # no session, no account: the link is enough
    page = other.get(link)
    assert page.status_code == 200
    assert "Does the linen shirt come in navy?" in page.get_data(as_text=True)
    assert 'role="alert"' not in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in page.headers["X-Robots-Tag"]

    empty = other.post(link, data={"message": "  "})
    assert empty.status_code == 400 and "Enter your message." in empty.get_data(as_text=True)
    sent = other.post(link, data={"message": "Also in size L, please."})
    assert sent.status_code == 303
    assert "Your message was sent" in other.get(sent.headers["Location"]).get_data(as_text=True)
    [conversation] = conversations(app, tenant)
    assert [m[1] for m in conversation["messages"]] == [
        "Does the linen shirt come in navy?",
        "Also in size L, please.",
    ]

    assert other.get(link[:-3] + "xyz").status_code == 404  # a forged signature


def test_a_second_message_continues_the_open_conversation(app, make_tenant, shop_client):
    tenant = make_tenant()
    client = shop_client(tenant)
    contact(client, message="Is the teapot dishwasher safe?")
    contact(client, message="And does it come with a strainer?")
    contact(client, email="someone@example.com", message="Do you deliver to Canada?")
    rows = conversations(app, tenant)
    assert [len(c["messages"]) for c in rows] == [2, 1]
    run_jobs(app)
    assert len(outbox(app, tenant)) == 2  # one automatic reply per conversation


def test_ask_about_this_order_links_the_order(app, make_tenant, shop_client):
    tenant = make_tenant()
    order = make_order(app, tenant, number=1042, email="casey@example.com")
    client = shop_client(tenant)
    status_page = client.get(f"/orders/{order.token}").get_data(as_text=True)
    assert f'href="/contact?order={order.token}"' in status_page
    assert "Ask about this order" in status_page
    form = client.get(f"/contact?order={order.token}")
    html = form.get_data(as_text=True)
    assert 'value="#1042"' in html and 'value="casey@example.com"' in html
    assert form.headers["Referrer-Policy"] == "no-referrer"
    contact(
        client,
        email="casey@example.com",
        order_number="#1042",
        order_token=order.token,
        message="When will it ship?",
    )
    [conversation] = conversations(app, tenant)
    assert conversation["order_id"] == order.id
    # A number alone only fills in the field (it links nothing by itself).
    assert 'value="#1042"' in client.get("/contact?number=1042").get_data(as_text=True)
    assert 'value=""' in client.get("/contact?number=x<y").get_data(as_text=True)


def test_a_typed_order_number_links_only_with_the_orders_email(app, make_tenant, shop_client):
    tenant = make_tenant()
    order = make_order(app, tenant, number=1050, email="casey@example.com")
    client = shop_client(tenant)
    contact(client, email="casey@example.com", order_number="1050", message="Any news please?")
    contact(client, email="mallory@example.com", order_number="1050", message="Any news please?")
    first, second = conversations(app, tenant)
    assert first["order_id"] == order.id and second["order_id"] is None


def test_bad_input_shows_the_form_again_and_keeps_nothing(
    app, make_tenant, shop_client, monkeypatch
):
    # A small upload limit, so the refused file stays in memory (no spooled temp file).
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 16 * 1024)
    tenant = make_tenant()
    client = shop_client(tenant)
    response = contact(client, name="", email="not-an-address", message="", order_number="abc")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter your name." in html and "Enter your message." in html
    assert 'aria-invalid="true"' in html and 'value="not-an-address"' in html
    too_big = contact(client, attachment=(io.BytesIO(b"%PDF-" + b"0" * (20 * 1024)), "big.pdf"))
    assert too_big.status_code == 400 and "the limit is 16 KB" in too_big.get_data(as_text=True)
    not_a_picture = contact(client, attachment=(io.BytesIO(b"MZ\x90\x00evil"), "a.exe"))
    assert not_a_picture.status_code == 400
    assert "Attach a picture" in not_a_picture.get_data(as_text=True)
    assert conversations(app, tenant) == []


def test_the_honeypot_and_the_rate_limit_keep_bots_out(app, make_tenant, shop_client):
    tenant = make_tenant()
    client = shop_client(tenant)
    trapped = contact(client, website="http://spam.example")
    assert trapped.status_code == 200 and "on its way" in trapped.get_data(as_text=True)
    assert conversations(app, tenant) == []
    responses = [contact(client, email=f"p{n}@example.com") for n in range(11)]
    assert [r.status_code for r in responses] == [200] * 10 + [429]
    refused = responses[10].get_data(as_text=True)
    assert "Too many attempts. Please wait" in refused and 'value="p10@example.com"' in refused
    assert len(conversations(app, tenant)) == 10


def test_the_faq_page_lists_the_questions(app, make_tenant, shop_client):
    tenant = make_tenant()
    client = shop_client(tenant)
    assert "No questions here yet." in client.get("/faq").get_data(as_text=True)
    add_faq(app, tenant, ("Do you ship abroad?", "Yes, to all of Europe."))
    html = client.get("/faq").get_data(as_text=True)
    assert "Do you ship abroad?" in html and "Yes, to all of Europe." in html
    home = client.get("/").get_data(as_text=True)
    assert 'href="/contact"' in home and 'href="/faq"' in home


def test_an_attachment_downloads_only_through_its_thread(app, make_tenant, shop_client):
    tenant = make_tenant()
    client = shop_client(tenant)
    contact(client, attachment=(io.BytesIO(png()), "photo.png"))
    run_jobs(app)
    link = path_of(thread_link(outbox(app, tenant)[0][2]))
    html = client.get(link).get_data(as_text=True)
    start = html.index(link + "/files/")
    href = html[start : html.index('"', start)]
    download = client.get(href)
    assert download.status_code == 200 and download.mimetype == "image/jpeg"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.get_data().startswith(b"\xff\xd8")  # a JPEG, re-encoded
    download.close()  # the file stays open until the response is
    assert client.get(href.replace(link, link[:-2] + "zz")).status_code == 404
