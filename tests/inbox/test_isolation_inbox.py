"""Tenant isolation of the inbox: a shopper of shop A can never read or answer a
conversation of shop B, with any link, token or id of B's; staff of A never see B's
conversations, attachments, FAQ entries or saved replies."""

from __future__ import annotations

import io

from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.inbox import faq, inbound
from tenants.inbox.models import Attachment, FaqEntry, SavedReply
from tenants.inbox.saved_replies import save_reply
from tests.inbox.helpers import contact, conversations, outbox, path_of, png, run_jobs, thread_link


def _shop_with_a_conversation(app, make_tenant, shop_client):
    tenant = make_tenant()
    client = shop_client(tenant)
    contact(
        client,
        email="secret@example.com",
        message="Private: my card was charged twice",
        attachment=(io.BytesIO(png()), "statement.png"),
    )
    run_jobs(app)
    link = path_of(thread_link(outbox(app, tenant)[0][2]))
    with app.app_context(), tenant_context(tenant):
        attachment_id = db.session.scalar(select(Attachment.id))
        faq.add_entry("B's own question?", "B's own answer.")
        save_reply("B's saved reply", "B's private wording")
        faq_id = db.session.scalar(select(FaqEntry.id))
        reply_id = db.session.scalar(select(SavedReply.id))
    [conversation] = conversations(app, tenant)
    return tenant, link, conversation, attachment_id, faq_id, reply_id


def test_a_shopper_of_one_shop_never_reaches_another_shops_conversation(
    app, make_tenant, shop_client
):
    shop_b, link_b, _, attachment_b, _, _ = _shop_with_a_conversation(app, make_tenant, shop_client)
    shop_a = make_tenant()
    contact(shop_client(shop_a), message="A's own conversation here")  # ids exist in A too
    on_a = shop_client(shop_a)
    # B's thread link, its attachment, answering it: on A's host, all refused.
    assert on_a.get(link_b).status_code == 404
    assert on_a.get(f"{link_b}/files/{attachment_b}").status_code == 404
    answered = on_a.post(link_b, data={"message": "I am not who you think"})
    assert answered.status_code == 404
    assert "Private: my card" not in on_a.get(link_b).get_data(as_text=True)
    # B's link still works on B (the refusal is about the shop, not a broken link).
    assert shop_client(shop_b).get(link_b).status_code == 200
    # A's own link with B's attachment id: not A's file.
    run_jobs(app)
    link_a = path_of(thread_link(outbox(app, shop_a)[0][2]))
    assert on_a.get(f"{link_a}/files/{attachment_b}").status_code == 404
    assert [len(c["messages"]) for c in conversations(app, shop_b)] == [1]


def test_an_emailed_reply_with_another_shops_token_threads_nothing(
    app, make_tenant, shop_client, monkeypatch
):
    monkeypatch.setitem(app.config, "INBOUND_EMAIL_SECRET", "s3cret")
    monkeypatch.setitem(app.config, "INBOUND_EMAIL_DOMAIN", "in.example.test")
    shop_b, _, conv_b, _, _, _ = _shop_with_a_conversation(app, make_tenant, shop_client)
    shop_a = make_tenant()
    payload = (
        '{"MessageID": "m-1", "From": "secret@example.com", '
        f'"To": "reply+{conv_b["reply_token"]}@in.example.test", "TextBody": "hijack"}}'
    ).encode()
    response = shop_client(shop_a).post(
        "/contact/inbound-email",
        data=payload,
        headers={inbound.SIGNATURE_HEADER: inbound.sign(payload, "s3cret")},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json["threaded"] is False
    assert conversations(app, shop_a) == []
    assert [len(c["messages"]) for c in conversations(app, shop_b)] == [1]


def test_staff_of_one_shop_never_see_another_shops_inbox(
    app, make_tenant, shop_client, staff_client
):
    shop_b, _, conv_b, attachment_b, faq_b, reply_b = _shop_with_a_conversation(
        app, make_tenant, shop_client
    )
    shop_a = make_tenant()
    merchant_a = staff_client(shop_a, role="owner")
    listing = merchant_a.get("/admin/inbox").get_data(as_text=True)
    assert "secret@example.com" not in listing and "No conversations yet." in listing
    cid = conv_b["id"]
    for path in (
        f"/admin/inbox/{cid}",
        f"/admin/inbox/{cid}/files/{attachment_b}",
        f"/admin/inbox/faq/{faq_b}",
        f"/admin/inbox/faq/{faq_b}/delete",
        f"/admin/inbox/replies/{reply_b}",
        f"/admin/inbox/replies/{reply_b}/delete",
    ):
        assert merchant_a.get(path).status_code == 404, path
    for path, data in (
        (f"/admin/inbox/{cid}/reply", {"reply": "hello"}),
        (f"/admin/inbox/{cid}/note", {"note": "hello"}),
        (f"/admin/inbox/{cid}/details", {"status": "closed", "topic": "other"}),
        (f"/admin/inbox/{cid}/unread", {}),
        (f"/admin/inbox/faq/{faq_b}/delete", {}),
        (f"/admin/inbox/replies/{reply_b}/delete", {}),
    ):
        assert merchant_a.post(path, data=data).status_code == 404, path
    assert "B's own question?" not in merchant_a.get("/admin/inbox/faq").get_data(as_text=True)
    assert "B's saved reply" not in merchant_a.get("/admin/inbox/replies").get_data(as_text=True)
    assert "B's own question?" not in shop_client(shop_a).get("/faq").get_data(as_text=True)
    # B's staff from A's host: B's session is bound to B's host, so A sees no one.
    [conversation] = conversations(app, shop_b)
    assert conversation["status"] == "open" and len(conversation["messages"]) == 1
    with app.app_context(), tenant_context(shop_b):
        assert db.session.scalar(select(FaqEntry.question)) == "B's own question?"


def test_a_staff_session_of_one_shop_does_not_open_another_shops_inbox(
    app, make_tenant, shop_client, staff_client
):
    shop_b, _, conv_b, _, _, _ = _shop_with_a_conversation(app, make_tenant, shop_client)
    shop_a = make_tenant()
    merchant_a = staff_client(shop_a, role="owner")
    # The same client (A's session cookie) on B's host: not logged in there.
    merchant_a.host = f"{shop_b.slug}.localhost"
    response = merchant_a.get(f"/admin/inbox/{conv_b['id']}")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
