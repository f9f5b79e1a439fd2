"""Orders: what a shopper bought, what they paid and where it went.

Money is integer minor units in the order's currency. An order keeps copies of what
it was placed with (titles, prices, addresses, the discount code, the shipping rate's
name), so later edits to the catalog or settings never rewrite history.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.private import PrivateModel


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # offline payment not received yet, or Stripe not confirmed yet
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"  # cancelled before any money was taken


class FulfillmentStatus(enum.StrEnum):
    UNFULFILLED = "unfulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    DELIVERED = "delivered"


class PaymentMethod(enum.StrEnum):
    CASH_ON_DELIVERY = "cash_on_delivery"
    BANK_TRANSFER = "bank_transfer"
    STRIPE = "stripe"


# How people name the methods (order pages, emails); the checkout may say more.
PAYMENT_METHOD_LABELS: dict[str, str] = {
    PaymentMethod.STRIPE: "Card",
    PaymentMethod.BANK_TRANSFER: "Bank transfer",
    PaymentMethod.CASH_ON_DELIVERY: "Cash on delivery",
}

# Orders that count as sales (dashboard, customers' totals): money was taken.
SALE_STATUSES = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)


class Order(PrivateModel):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        CheckConstraint("subtotal_cents >= 0", name="subtotal_not_negative"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= total_cents", name="refund_fits"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)  # shown to people: #1001
    # A random reference for links sent to the shopper (order status page): numbers are
    # guessable, this is not.
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # One order per checkout attempt, however often it is submitted.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    payment_status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.PENDING)
    fulfillment_status: Mapped[str] = mapped_column(
        String(20), default=FulfillmentStatus.UNFULFILLED, server_default="unfulfilled"
    )
    payment_method: Mapped[str | None] = mapped_column(String(30))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    subtotal_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    discount_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    shipping_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_cents: Mapped[int] = mapped_column(Integer)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    taxes_included: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # [{"name": "VAT 20%", "rate_bp": 2000, "amount_cents": 500}]
    tax_lines: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )
    discount_code: Mapped[str | None] = mapped_column(String(100))
    # Loyalty points spent on the order, and the part of `discount_cents` they paid.
    points_redeemed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    points_discount_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The member tier whose discount the order got, and that part of `discount_cents`.
    tier_name: Mapped[str] = mapped_column(String(60), default="", server_default="")
    tier_discount_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The customer whose referral link brought the buyer, and the welcome discount's
    # part of `discount_cents`.
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    referral_discount_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    shipping_method: Mapped[str] = mapped_column(String(200), default="", server_default="")
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    # Stock held for an unpaid Stripe checkout is given back after this moment.
    reserved_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # When the review-request email was sent (or found not to be due): never twice.
    review_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    placed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", order_by="OrderEvent.id", cascade="all, delete-orphan"
    )
    fulfillments: Mapped[list[Fulfillment]] = relationship(
        back_populates="order", order_by="Fulfillment.id", cascade="all, delete-orphan"
    )

    @property
    def code_discount_cents(self) -> int:
        """The discount code's (or automatic discount's) part of `discount_cents`."""
        return (
            self.discount_cents
            - self.points_discount_cents
            - self.tier_discount_cents
            - self.referral_discount_cents
        )

    @property
    def name(self) -> str:
        return f"#{self.number}"


class OrderLine(PrivateModel):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_cents >= 0", name="price_not_negative"),
        CheckConstraint(
            "fulfilled_quantity >= 0 AND fulfilled_quantity <= quantity", name="fulfilled_fits"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_variants.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(255))
    variant_title: Mapped[str] = mapped_column(String(255), default="")
    sku: Mapped[str] = mapped_column(String(255), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    weight_grams: Mapped[int] = mapped_column(Integer, default=0)
    # Whether this line took stock from a tracked variant (so cancelling gives it back).
    stock_taken: Mapped[bool] = mapped_column(Boolean, default=False)
    fulfilled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    restocked_quantity: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.quantity - self.discount_cents


class OrderEvent(PrivateModel):
    """The order's timeline: every change, who made it and when."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # placed, paid, fulfilled, refunded, note...
    message: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(20), default="system")  # staff, customer, system
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    order: Mapped[Order] = relationship(back_populates="events")


class Fulfillment(PrivateModel):
    __tablename__ = "fulfillments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(100), default="")
    tracking_number: Mapped[str] = mapped_column(String(100), default="")
    tracking_url: Mapped[str] = mapped_column(String(500), default="")
    # [{"line_id": 3, "quantity": 1}]
    lines: Mapped[list[dict[str, int]]] = mapped_column(JSONB, default=list)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    order: Mapped[Order] = relationship(back_populates="fulfillments")


class Refund(PrivateModel):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")
    restock: Mapped[bool] = mapped_column(Boolean, default=False)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    # Indexed: a refund counts in the analytics of the day it was made (t0012).
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class Counter(PrivateModel):
    """Gapless per-shop numbers (orders: #1001, #1002...), taken with `UPDATE ... RETURNING`
    inside the transaction that uses them, so a rolled-back order gives its number back."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
