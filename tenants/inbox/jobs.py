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
    _mail(conversation, emails.acknowledgement(conversation, message), f"ack-{conversation.id}")


def send_reply(message_id: int) -> None:
    message = db.session.get(Message, message_id)
    if message is None or message.direction != Direction.OUT:
        return
    conversation = message.conversation
    _mail(conversation, emails.reply(conversation, message), f"reply-{message.id}")


def _mail(conversation: Conversation, email: tuple[str, str], key: str) -> None:
    """Send (subject, body) to the shopper, answerable by email into the conversation;
    `key` makes a retried job send once."""
    subject, body = email
    send_email(
        conversation.email,
        subject,
        body,
        dedupe_key=f"inbox-{key}",
        reply_to=reply_address(conversation),
    )


def train_topic_model(key: int | None = None) -> bool:
    return classifier.train(key)
