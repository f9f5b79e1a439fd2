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
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    trial_days: Mapped[int] = mapped_column(Integer, default=14)
    max_products: Mapped[int | None] = mapped_column(Integer)
    max_staff: Mapped[int | None] = mapped_column(Integer)
    max_domains: Mapped[int | None] = mapped_column(Integer)
    transaction_fee_bps: Mapped[int] = mapped_column(Integer, default=0)  # 100 bps = 1 %
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # Retired plans are offered to nobody new; shops already on them keep them.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


class SubscriptionStatus(enum.StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class Subscription(PlatformModel):
    """A shop's plan and where it stands with billing (one per shop)."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), unique=True
    )
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=SubscriptionStatus.TRIALING)
    trial_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    tenant: Mapped[Tenant] = relationship(back_populates="subscription")
    plan: Mapped[Plan] = relationship()


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
