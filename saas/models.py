"""Platform tables, in the `public` schema: tenants, domains, plans, subscriptions,
operators, audit events, the one-time tokens that hand a browser from one host to
another, and what the platform knows of Stripe (connected accounts, received events)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import PlatformModel, schema_for


class TenantStatus(enum.StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class Tenant(PlatformModel):
    """A merchant's shop. Its data lives in the schema named by `schema`."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=TenantStatus.PROVISIONING)
    theme: Mapped[str] = mapped_column(String(63), default="base")
    owner_email: Mapped[str | None] = mapped_column(String(320))
    # Until launched, the storefront shows a "coming soon" page to everyone but staff
    # and visitors holding the storefront password. Kept here (not in the shop's
    # schema) so the host cache carries it and the check costs no query.
    launched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Makes signup safe to submit twice: the form's key is stored with the shop it made.
    signup_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    last_active_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Soft delete: the shop disappears at once, its schema is dropped after retention.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purge_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    export_path: Mapped[str | None] = mapped_column(String(500))
    # When unpaid billing closes the storefront (see saas/billing/standing.py). Kept here
    # so the host cache carries it: shutting the door at that moment needs no job and
    # costs no query.
    billing_closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The owner agreed to have the shop, once launched, shown on the platform's landing
    # page. Kept here, not in the shop's schema, so that page reads one table.
    listed_on_platform: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    domains: Mapped[list[Domain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="Domain.host"
    )
    subscription: Mapped[Subscription | None] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", uselist=False
    )

    @property
    def schema(self) -> str:
        return schema_for(self.id)

    def __repr__(self) -> str:
        return f"<Tenant {self.id} {self.slug!r} {self.status}>"


class Domain(PlatformModel):
    """A custom host name that serves a tenant's shop (e.g. `shop.example.com`)."""

    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    tenant: Mapped[Tenant] = relationship(back_populates="domains")


class Feature(enum.StrEnum):
    """What a plan may switch off. A plan lists the features it includes."""

    DISCOUNT_CODES = "discount_codes"
    ABANDONED_CHECKOUT_EMAILS = "abandoned_checkout_emails"
    CUSTOM_DOMAIN = "custom_domain"
    API_ACCESS = "api_access"

    @property
    def label(self) -> str:
        return FEATURE_LABELS[self]


FEATURE_LABELS = {
    Feature.DISCOUNT_CODES: "Discount codes",
    Feature.ABANDONED_CHECKOUT_EMAILS: "Abandoned-checkout emails",
    Feature.CUSTOM_DOMAIN: "Custom domains",
    Feature.API_ACCESS: "API access",
}


class BillingInterval(enum.StrEnum):
    MONTH = "month"
    YEAR = "year"


class Plan(PlatformModel):
    """What a merchant pays for. Limits of None mean unlimited."""

    __tablename__ = "plans"
    __table_args__ = (
        Index(
            "uq_plans_one_default", "is_default", unique=True, postgresql_where=text("is_default")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    price_cents: Mapped[int] = mapped_column(Integer)  # per month
    yearly_price_cents: Mapped[int | None] = mapped_column(Integer)  # None: monthly only
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    trial_days: Mapped[int] = mapped_column(Integer, default=14)
    max_products: Mapped[int | None] = mapped_column(Integer)
    max_staff: Mapped[int | None] = mapped_column(Integer)
    max_domains: Mapped[int | None] = mapped_column(Integer)
    max_storage_mb: Mapped[int | None] = mapped_column(Integer)  # uploaded media
    # The Feature values the plan includes (a new plan includes them all).
    features: Mapped[list[str]] = mapped_column(JSONB, default=lambda: [f.value for f in Feature])
    # Stripe prices made for the current amounts (saas/billing/prices.py); cleared when an
    # amount changes, so the next subscription gets a price at the new amount.
    stripe_price_month: Mapped[str | None] = mapped_column(Text)
    stripe_price_year: Mapped[str | None] = mapped_column(Text)
    transaction_fee_bps: Mapped[int] = mapped_column(Integer, default=0)  # 100 bps = 1 %
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # Retired plans are offered to nobody new; shops already on them keep them.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    def includes(self, feature: Feature | str) -> bool:
        return str(feature) in (self.features or ())

    def price_for(self, interval: str) -> int | None:
        """What one period costs, in cents (None: the plan is not sold by that period)."""
        return self.yearly_price_cents if interval == BillingInterval.YEAR else self.price_cents

    @property
    def free(self) -> bool:
        return self.price_cents == 0 and not self.yearly_price_cents


class SubscriptionStatus(enum.StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a payment failed (or the trial ended unpaid): dunning
    CANCELED = "canceled"


class Subscription(PlatformModel):
    """A shop's plan and where it stands with billing (one per shop)."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), unique=True
    )
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=SubscriptionStatus.TRIALING, index=True)
    interval: Mapped[str] = mapped_column(String(5), default=BillingInterval.MONTH)
    trial_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Start of the current dunning episode (first failed payment, or the trial's end).
    past_due_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dunning_notices: Mapped[int] = mapped_column(Integer, default=0)
    trial_reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Stripe Billing (None in manual billing mode, or before the first checkout).
    stripe_customer_id: Mapped[str | None] = mapped_column(Text, unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(Text, unique=True)
    payment_method: Mapped[str | None] = mapped_column(String(100))  # "Visa •••• 4242"
    # Stripe's clock for the state we hold: an object older than this changes nothing.
    stripe_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    tenant: Mapped[Tenant] = relationship(back_populates="subscription")
    plan: Mapped[Plan] = relationship()

    @property
    def price_cents(self) -> int:
        """What one period costs (a yearly price the plan no longer lists: 12 months)."""
        price = self.plan.price_for(self.interval)
        if price is not None:
            return price
        return self.plan.price_cents * (12 if self.interval == BillingInterval.YEAR else 1)


class InvoiceStatus(enum.StrEnum):
    OPEN = "open"  # owed: not paid yet (a failed payment leaves it open)
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class Invoice(PlatformModel):
    """One bill of a shop's subscription: Stripe's (mirrored from webhooks) or, in manual
    billing mode, one the operator recorded as paid."""

    __tablename__ = "billing_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not a foreign key: the billing history outlives the shop it is about.
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    stripe_invoice_id: Mapped[str | None] = mapped_column(Text, unique=True)
    number: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(String(300))
    billing_reason: Mapped[str | None] = mapped_column(String(40))
    amount_due_cents: Mapped[int] = mapped_column(Integer, default=0)
    amount_paid_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hosted_url: Mapped[str | None] = mapped_column(Text)
    pdf_url: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Operator(UserMixin, PlatformModel):
    """A person who runs the platform from the operator console."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The last accepted TOTP time step: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Bumped at password change: every session issued before then stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    is_impersonation = False
    read_only = False

    def get_id(self) -> str:
        return f"op:{self.id}:{self.session_version}"


class AuditEvent(PlatformModel):
    """Who did what, to which shop, when and from where. Never updated or deleted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not a foreign key: the trail outlives the shop it is about.
    tenant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_type: Mapped[str] = mapped_column(String(20))  # operator | staff | system | visitor
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_email: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class HandoffPurpose(enum.StrEnum):
    SIGNUP = "signup"  # apex -> new shop's back office, logged in as its owner
    IMPERSONATE = "impersonate"  # console -> a shop's back office, as an operator


class HandoffToken(PlatformModel):
    """A one-time, short-lived token that logs a browser in on another host.

    Only a hash is stored. After use, an impersonation row stays as the record of that
    session (its `session_expires_at` bounds it; `ended_at` closes it early).
    """

    __tablename__ = "handoff_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(Integer)  # signup: the owner to log in
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"))
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    session_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    operator: Mapped[Operator | None] = relationship()


class StripeAccount(PlatformModel):
    """A merchant's own Stripe account, connected through Stripe Connect.

    Kept in `public` (the shop's settings hold the same id) because a webhook names only
    the account: this is how an event finds its shop. An account serves one shop.
    """

    __tablename__ = "stripe_accounts"

    account_id: Mapped[str] = mapped_column(Text, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), unique=True
    )
    connected_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class StripeEventStatus(enum.StrEnum):
    PROCESSED = "processed"  # handlers ran and committed with the event's row
    UNHANDLED = "unhandled"  # acknowledged: no handler for this type (or scope)
    IGNORED = "ignored"  # acknowledged: its account belongs to no shop


class StripeEvent(PlatformModel):
    """A Stripe event received by the webhook, stored once: its id makes redelivery a no-op.

    The row is written in the same transaction as the handlers' effects, so an event is
    either recorded and acted on, or neither (and Stripe delivers it again).
    """

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    type: Mapped[str] = mapped_column(Text)
    account: Mapped[str | None] = mapped_column(Text)
    # Not a foreign key: the record outlives the shop it was about.
    tenant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
