"""The inbox's background work: the emails that follow a commit, and training the
shop's topic model. Each job takes ids and is safe to run twice (the emails carry a
dedupe key; training replaces the one stored model)."""

from __future__ import annotations

from saas.db import db
from saas.mail import send_email
from tenants.inbox import classifier, emails
from tenants.inbox.links import reply_address
from tenants.inbox.models import Conversation, Direction, Message
from tenants.inbox.settings import get_inbox_settings


def send_acknowledgement(conversation_id: int, message_id: int) -> None:
    conversation = db.session.get(Conversation, conversation_id)
    message = db.session.get(Message, message_id)
    if conversation is None or message is None or not get_inbox_settings().auto_reply:
        return
    subject, body = emails.acknowledgement(conversation, message)
    send_email(
        conversation.email,
        subject,
        body,
        dedupe_key=f"inbox-ack-{conversation.id}",
        reply_to=reply_address(conversation),
    )


def send_reply(message_id: int) -> None:
    message = db.session.get(Message, message_id)
    if message is None or message.direction != Direction.OUT:
        return
    conversation = message.conversation
    subject, body = emails.reply(conversation, message)
    send_email(
        conversation.email,
        subject,
        body,
        dedupe_key=f"inbox-reply-{message.id}",
        reply_to=reply_address(conversation),
    )


def train_topic_model(key: int | None = None) -> bool:
    return classifier.train(key)
