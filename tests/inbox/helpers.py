"""What the inbox's tests share: sending a contact message, reading the outbox, a
conversation's rows, and a sample picture."""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image
from sqlalchemy import select

from saas.db import db
from saas.jobs import make_worker
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tenants.inbox.models import Conversation

LINK = re.compile(r"https?://[^\s]+/contact/thread/[^\s]+")


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def contact(client: Any, **fields: Any) -> Any:
    data = {
        "name": "Jo Shopper",
        "email": "jo@example.com",
        "order_number": "",
        "message": "Where is my order? It has been ten days.",
        **fields,
    }
    return client.post("/contact", data=data, content_type="multipart/form-data")


def run_jobs(app: Any) -> None:
    make_worker(app).work(burst=True)


def outbox(app: Any, tenant: Any) -> list[tuple[str, str, str]]:
    with app.app_context(), tenant_context(tenant):
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(m.to_address, m.subject, m.body) for m in rows]


def thread_link(body: str) -> str:
    match = LINK.search(body)
    assert match, body
    return match.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def conversations(app: Any, tenant: Any) -> list[dict[str, Any]]:
    with app.app_context(), tenant_context(tenant):
        rows = db.session.scalars(select(Conversation).order_by(Conversation.id)).all()
        return [
            {
                "id": c.id,
                "email": c.email,
                "name": c.name,
                "order_id": c.order_id,
                "customer_id": c.customer_id,
                "topic": c.topic,
                "topic_source": c.topic_source,
                "status": c.status,
                "unread": c.unread,
                "reply_token": c.reply_token,
                "messages": [
                    (m.direction, m.body, [a.filename for a in m.attachments]) for m in c.messages
                ],
            }
            for c in rows
        ]
