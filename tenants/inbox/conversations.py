"""Opening, continuing and answering conversations, and the lists the Inbox shows.

A shopper's message (the contact page, the thread link, an emailed reply) opens a
conversation or continues one; the merchant answers, notes, assigns, closes and
corrects the topic. Everything here flushes; the edge commits, and what follows a
commit (the automatic reply, the emailed answer, a training run) is queued with
`saas.jobs.enqueue`, which waits for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from sqlalchemy import Select, String, cast, func, or_, select

from saas.db import db
from saas.email_address import email_problem, normalise_email
from saas.jobs import enqueue
from tenants.customers.models import Customer
from tenants.inbox import attachments, classifier
from tenants.inbox.links import new_reply_token
from tenants.inbox.models import (
    Conversation,
    Direction,
    Message,
    Status,
    Topic,
    TopicSource,
)
from tenants.inbox.text import MAX_BODY, MAX_NAME, MAX_SUBJECT, one_line, plain_text
from tenants.orders.models import Order
from tenants.staff.models import Area, Role, Staff, StaffStatus

MAX_QUERY = 200
# A new message from the same address about the same order within this long goes on
# in the conversation still open, instead of opening another.
CONTINUE_WITHIN = timedelta(days=14)
_ORDER_NUMBER = re.compile(r"^#?\s*(\d{1,9})$")


@dataclass
class ContactMessage:
    """The contact form, cleaned: what was typed, and what is wrong with it."""

    name: str = ""
    email: str = ""
    order_number: str = ""
    body: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def read_contact_form(form: Any, *, order: Order | None = None) -> ContactMessage:
    message = ContactMessage(
        name=one_line(form.get("name"), MAX_NAME),
        email=(form.get("email") or "").strip()[:320],
        order_number=(form.get("order_number") or "").strip()[:20],
        body=plain_text(form.get("message"), MAX_BODY),
    )
    if not message.name:
        message.errors["name"] = "Enter your name."
    if problem := email_problem(message.email):
        message.errors["email"] = problem
    if message.order_number and not _ORDER_NUMBER.match(message.order_number) and order is None:
        message.errors["order_number"] = (
            "Enter the order number as it is in your email, like #1001."
        )
    if not message.body:
        message.errors["message"] = "Enter your message."
    elif len(message.body) < 5:
        message.errors["message"] = "Tell us a little more, so we can help."
    return message


def order_for_number(number: str, email: str) -> Order | None:
    """The order a shopper names, only when the email is the order's: typing another
    person's order number links nothing."""
    match = _ORDER_NUMBER.match(number.strip())
    if not match:
        return None
    return db.session.scalar(
        select(Order).where(
            Order.number == int(match.group(1)), func.lower(Order.email) == normalise_email(email)
        )
    )


def _customer_for(email: str) -> Customer | None:
    return db.session.scalar(select(Customer).where(Customer.email == email))


def _subject(body: str, order: Order | None) -> str:
    first = " ".join(body.split())
    short = first if len(first) <= 70 else first[:69].rsplit(" ", 1)[0] + "…"
    subject = f"Order #{order.number}: {short}" if order is not None else short
    return subject[:MAX_SUBJECT]


def _add_message(
    conversation: Conversation,
    direction: Direction,
    body: str,
    *,
    author_name: str = "",
    staff_id: int | None = None,
    via: str = "web",
    external_id: str | None = None,
    upload: tuple[bytes, str, str] | None = None,
) -> Message:
    message = Message(
        direction=direction,
        body=body,
        author_name=author_name,
        author_staff_id=staff_id,
        via=via,
        external_id=external_id,
    )
    conversation.messages.append(message)
    if upload is not None:
        attachments.store(message, *upload)
    if direction != Direction.NOTE:
        conversation.last_message_at = datetime.now(UTC)
    db.session.flush()
    return message


def read_attachment(
    stream: IO[bytes] | None, filename: str | None
) -> tuple[bytes, str, str] | None:
    """An optional upload, checked (AttachmentError), before anything is written."""
    if stream is None or not filename:
        return None
    return attachments.read(stream, filename)


def receive_contact(
    contact: ContactMessage,
    *,
    order: Order | None = None,
    customer: Customer | None = None,
    upload: tuple[bytes, str, str] | None = None,
    via: str = "web",
) -> tuple[Conversation, bool]:
    """A shopper's message: a new conversation, or the next message of the open one
    from the same address about the same order. Returns it, and whether it is new.
    A new one is classified and gets the automatic reply (queued). Flushes."""
    email = normalise_email(contact.email)
    if order is None and contact.order_number:
        order = order_for_number(contact.order_number, email)
    if customer is None:
        customer = _customer_for(email)
    ongoing = db.session.scalar(
        select(Conversation)
        .where(
            Conversation.email == email,
            Conversation.status != Status.CLOSED,
            Conversation.order_id.is_(None) if order is None else Conversation.order_id == order.id,
            Conversation.last_message_at >= datetime.now(UTC) - CONTINUE_WITHIN,
        )
        .order_by(Conversation.last_message_at.desc())
        .limit(1)
    )
    if ongoing is not None:
        shopper_reply(ongoing, contact.body, upload=upload, via=via)
        return ongoing, False
    subject = _subject(contact.body, order)
    topic, source = classifier.classify(f"{subject}\n{contact.body}")
    conversation = Conversation(
        name=contact.name,
        email=email,
        customer_id=customer.id if customer else None,
        order_id=order.id if order else None,
        subject=subject,
        topic=topic,
        topic_source=source,
        status=Status.OPEN,
        unread=True,
        reply_token=new_reply_token(),
    )
    db.session.add(conversation)
    message = _add_message(
        conversation, Direction.IN, contact.body, author_name=contact.name, via=via, upload=upload
    )
    enqueue("tenants.inbox.jobs.send_acknowledgement", conversation.id, message.id)
    return conversation, True


def shopper_reply(
    conversation: Conversation,
    body: str,
    *,
    upload: tuple[bytes, str, str] | None = None,
    via: str = "web",
    external_id: str | None = None,
) -> Message:
    """The shopper answers (thread page or email): the conversation is the merchant's
    turn again, and unread."""
    message = _add_message(
        conversation,
        Direction.IN,
        body,
        author_name=conversation.name,
        via=via,
        external_id=external_id,
        upload=upload,
    )
    conversation.status = Status.OPEN
    conversation.unread = True
    db.session.flush()
    return message


def staff_reply(
    conversation: Conversation, body: str, staff: Staff | None, *, close: bool = False
) -> Message:
    """The merchant answers: emailed to the shopper with the thread link (queued); the
    conversation then waits on the shopper, or is closed."""
    message = _staff_message(conversation, Direction.OUT, body, staff)
    conversation.status = Status.CLOSED if close else Status.WAITING
    conversation.unread = False
    db.session.flush()
    enqueue("tenants.inbox.jobs.send_reply", message.id)
    return message


def add_note(conversation: Conversation, body: str, staff: Staff | None) -> Message:
    """An internal note: for staff only, never emailed nor shown on the thread page."""
    return _staff_message(conversation, Direction.NOTE, body, staff)


def _staff_message(
    conversation: Conversation, direction: Direction, body: str, staff: Staff | None
) -> Message:
    """A message written in the back office (no staff: an operator's impersonation)."""
    return _add_message(
        conversation,
        direction,
        body,
        author_name=staff.name if staff is not None else "",
        staff_id=staff.id if staff is not None else None,
        via="backoffice",
    )


def set_status(conversation: Conversation, status: Status) -> None:
    conversation.status = status
    db.session.flush()


def mark_read(conversation: Conversation) -> None:
    if conversation.unread:
        conversation.unread = False
        db.session.flush()


def mark_unread(conversation: Conversation) -> None:
    conversation.unread = True
    db.session.flush()


def assignable_staff() -> list[Staff]:
    """Active staff who may open the Inbox: the people a conversation can go to."""
    rows = db.session.scalars(
        select(Staff).where(Staff.status == StaffStatus.ACTIVE).order_by(Staff.name, Staff.email)
    )
    return [
        s for s in rows if s.role in (Role.OWNER, Role.ADMIN) or str(Area.INBOX) in s.permissions
    ]


def assign(conversation: Conversation, staff_id: int | None) -> bool:
    """Give the conversation to a staff member (None: nobody). False if that person
    cannot open the Inbox (or is not this shop's)."""
    if staff_id is not None and staff_id not in {s.id for s in assignable_staff()}:
        return False
    conversation.assignee_id = staff_id
    db.session.flush()
    return True


def classified_text(conversation: Conversation) -> str:
    """What the topic is judged on: the subject and the shopper's first message."""
    first = next((m.body for m in conversation.messages if m.direction == Direction.IN), "")
    return f"{conversation.subject}\n{first}"


def correct_topic(conversation: Conversation, topic: Topic) -> None:
    """The merchant's topic: kept as a label the shop's classifier learns from."""
    conversation.topic = topic
    conversation.topic_source = TopicSource.MERCHANT
    db.session.flush()
    classifier.record_label(conversation.id, classified_text(conversation), topic)


# --- lists ---------------------------------------------------------------------------


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class Filters:
    status: str = ""  # "" = not closed
    topic: str = ""
    assignee: str = ""  # "", "me", "none" or a staff id
    q: str = ""

    @classmethod
    def of(cls, args: Any) -> Filters:
        status = args.get("status", "")
        topic = args.get("topic", "")
        assignee = args.get("assignee", "")
        return cls(
            status=status if status in {*Status, "all"} else "",
            topic=topic if topic in set(Topic) else "",
            assignee=assignee if assignee in ("me", "none") or assignee.isdigit() else "",
            q=args.get("q", "").strip()[:MAX_QUERY],
        )

    @property
    def active(self) -> bool:
        return bool(self.status or self.topic or self.assignee or self.q)


def conversations_query(filters: Filters, me: int | None) -> Select[Any]:
    """Conversations, latest message first; by default those not closed."""
    query = select(Conversation)
    if filters.status == "":
        query = query.where(Conversation.status != Status.CLOSED)
    elif filters.status != "all":
        query = query.where(Conversation.status == filters.status)
    if filters.topic:
        query = query.where(Conversation.topic == filters.topic)
    if filters.assignee == "me":
        query = query.where(Conversation.assignee_id == me)
    elif filters.assignee == "none":
        query = query.where(Conversation.assignee_id.is_(None))
    elif filters.assignee:
        query = query.where(Conversation.assignee_id == int(filters.assignee))
    if filters.q:
        like = _like(filters.q)
        in_messages = (
            select(Message.id)
            .where(Message.conversation_id == Conversation.id, Message.body.ilike(like))
            .exists()
        )
        number = filters.q.lstrip("#").strip()
        by_order = (
            select(Order.id)
            .where(Order.id == Conversation.order_id, cast(Order.number, String) == number)
            .exists()
        )
        query = query.where(
            or_(
                Conversation.subject.ilike(like),
                Conversation.name.ilike(like),
                Conversation.email.ilike(like),
                in_messages,
                by_order,
            )
        )
    return query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())


def unread_count() -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.unread.is_(True))
        )
        or 0
    )
