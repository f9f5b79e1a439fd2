"""Saved replies: answers the merchant writes once and inserts into a reply."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from saas.db import db
from tenants.inbox.models import SavedReply
from tenants.inbox.text import one_line, plain_text

MAX_TITLE = 120
MAX_BODY = 5000


def saved_replies() -> list[SavedReply]:
    return list(db.session.scalars(select(SavedReply).order_by(SavedReply.title)))


def clean(form: Any) -> tuple[str, str]:
    return one_line(form.get("title"), MAX_TITLE), plain_text(form.get("body"), MAX_BODY)


def errors_of(title: str, body: str, current: SavedReply | None = None) -> dict[str, str]:
    errors = {}
    if not title:
        errors["title"] = "Enter a title."
    else:
        taken = db.session.scalar(select(SavedReply).where(SavedReply.title == title))
        if taken is not None and taken is not current:
            errors["title"] = "Another saved reply has this title."
    if not body:
        errors["body"] = "Enter the reply's text."
    return errors


def save_reply(title: str, body: str, current: SavedReply | None = None) -> SavedReply:
    reply = current or SavedReply()
    reply.title, reply.body = title, body
    db.session.add(reply)
    db.session.flush()
    return reply


def delete_reply(reply: SavedReply) -> None:
    db.session.delete(reply)
    db.session.flush()
