"""The back office's Inbox: the list with its filters, search and unread count, a
conversation's page (reply, notes, status, assignment, topic), saved replies, the FAQ
and the inbox settings, all behind the Inbox staff area."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.inbox.models import FaqEntry, SavedReply, TopicLabel
from tests.inbox.helpers import contact, conversations, outbox, path_of, run_jobs, thread_link


def test_the_inbox_lists_filters_and_counts_unread(app, make_tenant, shop_client, staff_client):
    tenant = make_tenant()
    merchant = staff_client(tenant, permissions=["inbox"])
    empty = merchant.get("/admin/inbox")
    assert empty.status_code == 200 and "No conversations yet." in empty.get_data(as_text=True)
    shopper = shop_client(tenant)
    contact(shopper, email="a@example.com", message="Do you ship to Canada and how much?")
    contact(shopper, email="b@example.com", message="My card was declined at checkout")
    contact(shopper, email="c@example.com", message="Is the linen shirt true to size?")
    html = merchant.get("/admin/inbox").get_data(as_text=True)
    assert "(3 unread)" in html and '<span class="nav-badge">3' in html
    assert "3 conversations" in html
    payment = merchant.get("/admin/inbox?topic=payment").get_data(as_text=True)
    assert "b@example.com" in payment and "a@example.com" not in payment
    found = merchant.get("/admin/inbox?q=linen").get_data(as_text=True)
    assert "c@example.com" in found and "b@example.com" not in found
    nothing = merchant.get("/admin/inbox?q=zebra").get_data(as_text=True)
    assert "No conversations match these filters." in nothing
    assert merchant.get("/admin/inbox?page=9").status_code == 404

    first = conversations(app, tenant)[0]
    merchant.get(f"/admin/inbox/{first['id']}")
    assert "(2 unread)" in merchant.get("/admin/inbox").get_data(as_text=True)


def test_the_merchant_answers_and_the_shopper_reads_it_by_the_link(
    app, make_tenant, shop_client, staff_client
):
    tenant = make_tenant()
    shopper = shop_client(tenant)
    contact(shopper, message="Where is my order? Ordered last week.")
    run_jobs(app)
    [conversation] = conversations(app, tenant)
    merchant = staff_client(tenant, permissions=["inbox"], name="Robin")
    page = merchant.get(f"/admin/inbox/{conversation['id']}")
    assert page.status_code == 200
    assert "Where is my order? Ordered last week." in page.get_data(as_text=True)

    refused = merchant.post(f"/admin/inbox/{conversation['id']}/reply", data={"reply": " "})
    assert refused.status_code == 400 and "Write your reply." in refused.get_data(as_text=True)
    merchant.post(f"/admin/inbox/{conversation['id']}/note", data={"note": "VIP, be quick"})
    sent = merchant.post(
        f"/admin/inbox/{conversation['id']}/reply",
        data={"reply": "It left our warehouse today, tracking 123."},
    )
    assert sent.status_code == 302
    [conversation] = conversations(app, tenant)
    assert conversation["status"] == "waiting"
    assert [m[0] for m in conversation["messages"]] == ["in", "note", "out"]
    run_jobs(app)
    _ack, (to, subject, body) = outbox(app, tenant)
    assert to == "jo@example.com" and subject.startswith("Re: ")
    assert "It left our warehouse today" in body and "Robin" in body
    assert "VIP" not in body

    thread = shopper.get(path_of(thread_link(body))).get_data(as_text=True)
    assert "It left our warehouse today" in thread and "VIP" not in thread
    shopper.post(path_of(thread_link(body)), data={"message": "Thanks!"})
    [conversation] = conversations(app, tenant)
    assert conversation["status"] == "open" and conversation["unread"]


def test_status_assignment_and_topic_correction(
    app, make_tenant, shop_client, staff_client, make_staff
):
    tenant = make_tenant()
    contact(shop_client(tenant), message="Hello, a question about my parcel please")
    [conversation] = conversations(app, tenant)
    merchant = staff_client(tenant, permissions=["inbox"])
    colleague = make_staff(tenant, permissions=["inbox"], name="Ari")
    outsider = make_staff(tenant, permissions=["orders"], name="Olga")
    url = f"/admin/inbox/{conversation['id']}/details"
    page = merchant.get(f"/admin/inbox/{conversation['id']}").get_data(as_text=True)
    assert "Ari" in page and "Olga" not in page  # only people who may open the Inbox
    bad = merchant.post(
        url, data={"status": "open", "topic": "other", "assignee": str(outsider.id)}
    )
    assert bad.status_code == 400 and "open the Inbox." in bad.get_data(as_text=True)
    merchant.post(url, data={"status": "closed", "topic": "returns", "assignee": str(colleague.id)})
    [conversation] = conversations(app, tenant)
    assert conversation["status"] == "closed" and conversation["topic"] == "returns"
    assert conversation["topic_source"] == "merchant"
    with app.app_context(), tenant_context(tenant):
        [label] = db.session.scalars(select(TopicLabel)).all()
        assert label.topic == "returns" and "parcel" in label.text
    mine = merchant.get("/admin/inbox?status=closed&assignee=" + str(colleague.id))
    assert "Hello, a question" in mine.get_data(as_text=True)


def test_saved_replies_are_managed_and_inserted(app, make_tenant, shop_client, staff_client):
    tenant = make_tenant()
    merchant = staff_client(tenant, permissions=["inbox"])
    assert "No saved replies yet." in merchant.get("/admin/inbox/replies").get_data(as_text=True)
    missing = merchant.post("/admin/inbox/replies", data={"title": "", "body": ""})
    assert missing.status_code == 400 and "Enter a title." in missing.get_data(as_text=True)
    merchant.post("/admin/inbox/replies", data={"title": "Shipping times", "body": "3-5 days."})
    taken = merchant.post("/admin/inbox/replies", data={"title": "Shipping times", "body": "x"})
    assert taken.status_code == 400
    with app.app_context(), tenant_context(tenant):
        reply_id = db.session.scalar(select(SavedReply.id))
    contact(shop_client(tenant))
    [conversation] = conversations(app, tenant)
    page = merchant.get(f"/admin/inbox/{conversation['id']}?saved={reply_id}")
    assert ">3-5 days.</textarea>" in page.get_data(as_text=True)
    confirm = merchant.get(f"/admin/inbox/replies/{reply_id}/delete")
    assert "Delete the saved reply" in confirm.get_data(as_text=True)
    merchant.post(f"/admin/inbox/replies/{reply_id}/delete")
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(SavedReply.id)) is None


def test_the_faq_is_kept_in_order_and_published(app, make_tenant, shop_client, staff_client):
    tenant = make_tenant()
    merchant = staff_client(tenant, permissions=["inbox"])
    assert "No questions yet." in merchant.get("/admin/inbox/faq").get_data(as_text=True)
    bad = merchant.post("/admin/inbox/faq", data={"question": "Q?", "answer": ""})
    assert bad.status_code == 400 and "Enter the answer." in bad.get_data(as_text=True)
    merchant.post("/admin/inbox/faq", data={"question": "First?", "answer": "One."})
    merchant.post("/admin/inbox/faq", data={"question": "Second?", "answer": "Two."})
    with app.app_context(), tenant_context(tenant):
        second = db.session.scalar(select(FaqEntry.id).where(FaqEntry.question == "Second?"))
    merchant.post(f"/admin/inbox/faq/{second}/move", data={"direction": "up"})
    html = shop_client(tenant).get("/faq").get_data(as_text=True)
    assert html.index("Second?") < html.index("First?")
    merchant.post(f"/admin/inbox/faq/{second}", data={"question": "Second, edited?", "answer": "2"})
    merchant.post(f"/admin/inbox/faq/{second}/delete")
    html = shop_client(tenant).get("/faq").get_data(as_text=True)
    assert "Second" not in html and "First?" in html


def test_settings_change_the_automatic_reply(app, make_tenant, shop_client, staff_client):
    tenant = make_tenant()
    merchant = staff_client(tenant, permissions=["inbox"])
    page = merchant.get("/admin/inbox/settings").get_data(as_text=True)
    assert "after 30 corrections" in page
    assert merchant.post("/admin/inbox/settings", data={"response_hours": "5"}).status_code == 400
    merchant.post("/admin/inbox/settings", data={"response_hours": "48", "auto_reply": "1"})
    contact(shop_client(tenant))
    run_jobs(app)
    [(_, _, body)] = outbox(app, tenant)
    assert "within 2 days" in body
    merchant.post("/admin/inbox/settings", data={"response_hours": "48"})  # no automatic reply
    contact(shop_client(tenant), email="other@example.com")
    run_jobs(app)
    assert len(outbox(app, tenant)) == 1


def test_only_the_inbox_area_opens_the_inbox(app, make_tenant, shop_client, staff_client):
    tenant = make_tenant()
    contact(shop_client(tenant))
    [conversation] = conversations(app, tenant)
    orders_only = staff_client(tenant, permissions=["orders"])
    for path in ("/admin/inbox", f"/admin/inbox/{conversation['id']}", "/admin/inbox/faq"):
        assert orders_only.get(path).status_code == 403
    assert (
        "nav-badge"
        not in orders_only.get("/admin/").get_data(as_text=True).split("Inbox")[0][-200:]
    )
    assert (
        orders_only.post(
            f"/admin/inbox/{conversation['id']}/reply", data={"reply": "hi"}
        ).status_code
        == 403
    )
