"""The inbox's tables: conversations and their messages, attachments, the FAQ, saved
replies, the shop's inbox settings, and what the topic classifier learns from."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import TenantModel


class Status(enum.StrEnum):
    OPEN = "open"  # waiting on the merchant
    WAITING = "waiting"  # waiting on the shopper
    CLOSED = "closed"


STATUS_LABELS = {
    Status.OPEN: "Open",
    Status.WAITING: "Waiting on customer",
    Status.CLOSED: "Closed",
}


class Topic(enum.StrEnum):
    ORDER_STATUS = "order_status"
    SHIPPING = "shipping"
    RETURNS = "returns"
    PRODUCT = "product"
    PAYMENT = "payment"
    OTHER = "other"


TOPIC_LABELS = {
    Topic.ORDER_STATUS: "Order status",
    Topic.SHIPPING: "Shipping",
    Topic.RETURNS: "Returns and refunds",
    Topic.PRODUCT: "Product question",
    Topic.PAYMENT: "Payment",
    Topic.OTHER: "Other",
}


class TopicSource(enum.StrEnum):
    RULE = "rule"  # the built-in keyword rules
    MODEL = "model"  # the shop's own trained classifier
    MERCHANT = "merchant"  # set by staff: a label the classifier learns from


class Direction(enum.StrEnum):
    IN = "in"  # from the shopper
    OUT = "out"  # a reply the shopper gets
    NOTE = "note"  # internal: staff only, never emailed or shown to the shopper


class Conversation(TenantModel):
    __tablename__ = "inbox_conversations"
    storefront_visible = False  # private: only its signed link shows it

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), index=True)  # stored lowercased
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(20), default=Topic.OTHER)
    topic_source: Mapped[str] = mapped_column(String(10), default=TopicSource.RULE)
    status: Mapped[str] = mapped_column(String(10), default=Status.OPEN, index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    # A shopper's message the merchant has not opened yet (the Inbox menu's count).
    unread: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # Random, in the thread link and the reply address: reply+<token>@... (lowercase hex,
    # since mail systems may change the case of an address's local part).
    reply_token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_message_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation",
        order_by="Message.id",
        cascade="all, delete-orphan",
    )


class Message(TenantModel):
    __tablename__ = "inbox_messages"
    storefront_visible = False

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_conversations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(4))
    body: Mapped[str] = mapped_column(Text)  # plain text: printed escaped everywhere
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    via: Mapped[str] = mapped_column(String(10), default="web")  # web, email, backoffice
    # The mail provider's id of an inbound email: a webhook delivered twice adds it once.
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id", cascade="all, delete-orphan"
    )


class Attachment(TenantModel):
    """A shopper's file, kept out of the public media folder (`attachments.py`)."""

    __tablename__ = "inbox_attachments"
    storefront_visible = False

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))  # as shown: cleaned of paths
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)

    message: Mapped[Message] = relationship(back_populates="attachments")


class FaqEntry(TenantModel):
    """A question and its answer: on the storefront's FAQ page and in automatic replies."""

    __tablename__ = "inbox_faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)  # plain text
    position: Mapped[int] = mapped_column(Integer, default=0)


class SavedReply(TenantModel):
    __tablename__ = "inbox_saved_replies"
    storefront_visible = False

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)


class InboxSettings(TenantModel):
    """One row (created on first use): what the automatic reply promises."""

    __tablename__ = "inbox_settings"
    storefront_visible = False

    id: Mapped[int] = mapped_column(primary_key=True)
    response_hours: Mapped[int] = mapped_column(Integer, default=24)
    auto_reply: Mapped[bool] = mapped_column(Boolean, default=True)


class TopicLabel(TenantModel):
    """A merchant's correction of a topic: what the shop's classifier is trained on.

    The text is copied when labelled, so it trains on what was corrected even if the
    conversation goes on."""

    __tablename__ = "inbox_topic_labels"
    storefront_visible = False

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbox_conversations.id", ondelete="SET NULL"), unique=True
    )
    text: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TopicModel(TenantModel):
    """The shop's trained classifier (one row), in its own schema: never shared."""

    __tablename__ = "inbox_topic_models"
    storefront_visible = False

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline: Mapped[bytes] = mapped_column(LargeBinary)
    labels: Mapped[int] = mapped_column(Integer)  # how many labels it was trained on
    accuracy: Mapped[float | None] = mapped_column(Float)  # cross-validated, when measurable
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
