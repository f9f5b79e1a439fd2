"""Shoppers' replies by email: the provider's signed webhook threads them into their
conversation by the token in the reply address; a bad or stale signature is refused
with a problem document and writes nothing."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from saas.tenancy import tenant_context
from tenants.inbox import inbound
from tenants.inbox.links import reply_address
from tests.fakes.smtp import capture_smtp
from tests.inbox.helpers import contact, conversations

SECRET = "whsec-inbound-test"
DOMAIN = "inbound.example.test"


@pytest.fixture
def inbound_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "INBOUND_EMAIL_SECRET", SECRET)
    monkeypatch.setitem(app.config, "INBOUND_EMAIL_DOMAIN", DOMAIN)


def sample(token: str, **fields) -> bytes:
    """A Postmark-like inbound email, as the module's docstring documents it."""
    body = {
        "MessageID": "7a1b0d1e-0c2f-4c1c-9bde-5d1f3b1a2c3d",
        "From": "jo@example.com",
        "FromName": "Jo Shopper",
        "To": f'"Acme support" <reply+{token}@{DOMAIN}>',
        "Subject": "Re: Where is my order?",
        "TextBody": "Thanks, it arrived today!\n\nOn Mon, 7 Dec 2026, Acme wrote:\n> Hello Jo",
        **fields,
    }
    return json.dumps(body).encode()


def post(client, payload: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[inbound.SIGNATURE_HEADER] = signature
    return client.post("/contact/inbound-email", data=payload, headers=headers)


def test_a_signed_reply_is_threaded_once(app, make_tenant, shop_client, inbound_on):
    tenant = make_tenant()
    client = shop_client(tenant)
    contact(client)
    [conversation] = conversations(app, tenant)
    with app.app_context(), tenant_context(tenant):
        from saas.db import db
        from tenants.inbox.models import Conversation

        address = reply_address(db.session.get(Conversation, conversation["id"]))
    assert address == f"reply+{conversation['reply_token']}@{DOMAIN}"
    payload = sample(conversation["reply_token"])
    response = post(client, payload, inbound.sign(payload, SECRET))
    assert response.status_code == 200 and response.json["threaded"] is True
    again = post(client, payload, inbound.sign(payload, SECRET))  # the provider retries
    assert again.status_code == 200
    [conversation] = conversations(app, tenant)
    assert [m[1] for m in conversation["messages"]][1:] == ["Thanks, it arrived today!"]
    assert conversation["unread"] and conversation["status"] == "open"


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "t=0,v1=00",
        "garbage",
        "bad-timestamp",
        "other-secret",
        "stale",
    ],
)
def test_a_bad_signature_is_refused_and_writes_nothing(
    app, make_tenant, shop_client, inbound_on, signature
):
    tenant = make_tenant()
    client = shop_client(tenant)
    contact(client)
    [conversation] = conversations(app, tenant)
    payload = sample(conversation["reply_token"])
    header = {
        "bad-timestamp": "t=abc,v1=00",
        "other-secret": inbound.sign(payload, "not-our-secret"),
        "stale": inbound.sign(payload, SECRET, int(time.time()) - 3600),
    }.get(signature or "", signature)
    response = post(client, payload, header)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401
    assert len(conversations(app, tenant)[0]["messages"]) == 1


def test_a_changed_body_breaks_the_signature(app, make_tenant, shop_client, inbound_on):
    tenant = make_tenant()
    client = shop_client(tenant)
    contact(client)
    [conversation] = conversations(app, tenant)
    signed = sample(conversation["reply_token"])
    tampered = sample(conversation["reply_token"], TextBody="Send the refund to me instead")
    assert post(client, tampered, inbound.sign(signed, SECRET)).status_code == 401
    assert len(conversations(app, tenant)[0]["messages"]) == 1


def test_without_a_secret_the_endpoint_refuses_everything(app, make_tenant, shop_client):
    tenant = make_tenant()
    client = shop_client(tenant)
    payload = sample("0" * 24)
    response = post(client, payload, inbound.sign(payload, ""))
    assert response.status_code == 403 and response.mimetype == "application/problem+json"


def test_unknown_tokens_and_strangers_thread_nothing(app, make_tenant, shop_client, inbound_on):
    tenant = make_tenant()
    client = shop_client(tenant)
    contact(client)
    [conversation] = conversations(app, tenant)
    for payload in (
        sample("0123456789abcdef01234567"),
        sample(conversation["reply_token"], From="mallory@example.com"),
        sample(conversation["reply_token"], TextBody="", StrippedTextReply=""),
    ):
        response = post(client, payload, inbound.sign(payload, SECRET))
        assert response.status_code == 200 and response.json["threaded"] is False
    assert len(conversations(app, tenant)[0]["messages"]) == 1


def test_emails_ask_for_replies_at_the_conversations_address(
    app, make_tenant, shop_client, inbound_on, monkeypatch
):
    from saas.db import db
    from tenants.inbox import jobs
    from tenants.inbox.models import Message

    sent = capture_smtp(monkeypatch, app)
    tenant = make_tenant()
    contact(shop_client(tenant))
    [conversation] = conversations(app, tenant)
    # The job, run here rather than in a worker's process, so the fake sees the mail.
    with app.app_context(), tenant_context(tenant):
        message_id = db.session.scalar(select(Message.id))
        jobs.send_acknowledgement(conversation["id"], message_id)
    [email] = sent
    assert email["Reply-To"] == f"reply+{conversation['reply_token']}@{DOMAIN}"
    assert "or simply reply to this email" in email.get_content()
