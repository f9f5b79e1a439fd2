"""The inbox's pages are valid HTML (Nu Html Checker, as `tests/shop/test_html_valid.py`
runs it): the contact, FAQ and conversation pages in every theme, with and without
mistakes, and the back office's Inbox pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bench.showcase import THEMES
from saas.db import db
from saas.tenancy import tenant_context
from tenants.inbox import faq
from tenants.inbox.models import FaqEntry, SavedReply
from tenants.inbox.saved_replies import save_reply
from tests.conftest import client_for, log_in_as
from tests.inbox.helpers import contact, conversations, outbox, path_of, run_jobs, thread_link
from tests.shop.test_html_valid import assert_valid, check_html, checker_command, get


def shop_pages(app: Any, make_tenant: Any, theme: str) -> dict[str, str]:
    tenant = make_tenant(theme=theme)
    client = client_for(app, f"{tenant.slug}.localhost")
    pages = {
        f"{theme} contact": get(client, "/contact"),
        f"{theme} faq, empty": get(client, "/faq"),
    }
    with app.app_context(), tenant_context(tenant):
        faq.add_entry("Do you ship abroad?", "Yes.\nTo all of Europe.")
    pages[f"{theme} faq"] = get(client, "/faq")
    bad = contact(client, name="", email="nope", message="")
    assert bad.status_code == 400
    pages[f"{theme} contact, with errors"] = bad.get_data(as_text=True)
    sent = contact(client, message="Do you ship to Canada? <b>Thanks</b>")
    pages[f"{theme} contact, sent"] = sent.get_data(as_text=True)
    run_jobs(app)
    link = path_of(thread_link(outbox(app, tenant)[0][2]))
    client.post(link, data={"message": "And to Mexico?"})
    pages[f"{theme} conversation"] = get(client, link + "?sent=1")
    refused = client.post(link, data={"message": ""})
    pages[f"{theme} conversation, with errors"] = refused.get_data(as_text=True)
    pages[f"{theme} conversation, bad link"] = get(client, "/contact/thread/nope", 404)
    return pages


def backoffice_pages(app: Any, make_tenant: Any, make_staff: Any) -> dict[str, str]:
    tenant = make_tenant()
    owner = make_staff(tenant, role="owner", name="Olga Owner")
    client = client_for(app, f"{tenant.slug}.localhost")
    log_in_as(client, owner.user_id)
    pages = {"back office: inbox, empty": get(client, "/admin/inbox")}
    contact(client_for(app, f"{tenant.slug}.localhost"), message="Where is my order #1001?")
    with app.app_context(), tenant_context(tenant):
        faq.add_entry("Do you ship abroad?", "Yes.")
        save_reply("Thanks", "Thank you for writing.")
        entry_id = db.session.scalar(select(FaqEntry.id))
        reply_id = db.session.scalar(select(SavedReply.id))
    [conversation] = conversations(app, tenant)
    cid = conversation["id"]
    client.post(f"/admin/inbox/{cid}/note", data={"note": "Check the warehouse"})
    pages |= {
        "back office: inbox": get(client, "/admin/inbox"),
        "back office: inbox, no matches": get(client, "/admin/inbox?q=zebra"),
        "back office: conversation": get(client, f"/admin/inbox/{cid}?saved={reply_id}"),
        "back office: faq": get(client, "/admin/inbox/faq"),
        "back office: faq edit": get(client, f"/admin/inbox/faq/{entry_id}"),
        "back office: faq delete": get(client, f"/admin/inbox/faq/{entry_id}/delete"),
        "back office: saved replies": get(client, "/admin/inbox/replies"),
        "back office: saved reply edit": get(client, f"/admin/inbox/replies/{reply_id}"),
        "back office: inbox settings": get(client, "/admin/inbox/settings"),
    }
    refused = client.post(f"/admin/inbox/{cid}/reply", data={"reply": ""})
    pages["back office: conversation, with errors"] = refused.get_data(as_text=True)
    return pages


def test_inbox_pages_are_valid_html(app, make_tenant, make_staff, tmp_path_factory):
    command = checker_command()
    pages: dict[str, str] = {}
    for theme in THEMES:
        pages |= shop_pages(app, make_tenant, theme)
    pages |= backoffice_pages(app, make_tenant, make_staff)
    found = check_html(command, pages, tmp_path_factory.mktemp("inbox-html"))
    assert len(found) == len(pages) == 8 * len(THEMES) + 11
    assert_valid(found, list(pages))
