"""The inbox's emails to shoppers: the automatic reply to a new conversation, and
each answer the merchant sends. Both carry the thread link; with inbound email set
up, replying to them threads too (the Reply-To is the conversation's address)."""

from __future__ import annotations

from saas.tenancy import current_tenant
from tenants.inbox import faq
from tenants.inbox.links import reply_address, thread_url
from tenants.inbox.models import Conversation, Message
from tenants.inbox.settings import get_inbox_settings, response_time


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _how_to_answer(conversation: Conversation) -> str:
    by_mail = " or simply reply to this email" if reply_address(conversation) else ""
    return f"Read the conversation and answer{by_mail}:\n{thread_url(conversation)}"


def acknowledgement(conversation: Conversation, message: Message) -> tuple[str, str]:
    """(subject, body) of the automatic reply, with the FAQ entries closest to the
    shopper's message, so they may find the answer before we write back."""
    shop = current_tenant.name
    promise = response_time(get_inbox_settings().response_hours)
    matches = faq.best_matches(message.body)
    answers = ""
    if matches:
        answers = "\n\nWhile you wait, these answers from our FAQ may help:\n" + "".join(
            f"\n{entry.question}\n{entry.answer}\n" for entry in matches
        )
    body = (
        f"Hello {conversation.name},\n\nThank you for your message to {shop}. We have "
        f"received it and will answer {promise}.{answers}\n\nYour message:\n"
        f"{_quote(message.body)}\n\n{_how_to_answer(conversation)}\n"
    )
    return f"We received your message: {conversation.subject}", body


def reply(conversation: Conversation, message: Message) -> tuple[str, str]:
    """(subject, body) of the merchant's answer."""
    shop = current_tenant.name
    who = f"{message.author_name} from {shop}" if message.author_name else shop
    body = (
        f"Hello {conversation.name},\n\n{message.body}\n\n— {who}\n\n"
        f"{_how_to_answer(conversation)}\n"
    )
    return f"Re: {conversation.subject}", body
