"""Billing: plan prices by year, storage limit and features; subscriptions that follow
Stripe Billing and dunning; invoices; the moment unpaid billing closes a shop.

Revision ID: p0005
Revises: p0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "p0005"
down_revision = "p0004"
branch_labels = None
depends_on = None

ALL_FEATURES = '["discount_codes", "abandoned_checkout_emails", "custom_domain", "api_access"]'


def upgrade() -> None:
    op.add_column("tenants", sa.Column("billing_closes_at", sa.DateTime(timezone=True)))

    op.add_column("plans", sa.Column("yearly_price_cents", sa.Integer()))
    op.add_column("plans", sa.Column("max_storage_mb", sa.Integer()))
    # Plans made before features existed keep everything they offered.
    op.add_column(
        "plans",
        sa.Column("features", JSONB(), nullable=False, server_default=sa.text(f"'{ALL_FEATURES}'")),
    )
    op.alter_column("plans", "features", server_default=None)
    op.add_column("plans", sa.Column("stripe_price_month", sa.Text()))
    op.add_column("plans", sa.Column("stripe_price_year", sa.Text()))

    for column in (
        sa.Column("interval", sa.String(5), nullable=False, server_default="month"),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("canceled_at", sa.DateTime(timezone=True)),
        sa.Column("past_due_since", sa.DateTime(timezone=True)),
        sa.Column("dunning_notices", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("trial_reminder_sent_at", sa.DateTime(timezone=True)),
        sa.Column("stripe_customer_id", sa.Text()),
        sa.Column("stripe_subscription_id", sa.Text()),
        sa.Column("payment_method", sa.String(100)),
        sa.Column("stripe_synced_at", sa.DateTime(timezone=True)),
    ):
        op.add_column("subscriptions", column)
    op.create_unique_constraint(
        "uq_subscriptions_stripe_customer_id", "subscriptions", ["stripe_customer_id"]
    )
    op.create_unique_constraint(
        "uq_subscriptions_stripe_subscription_id", "subscriptions", ["stripe_subscription_id"]
    )
    op.create_index("ix_subscriptions_status", "subscriptions", ["status"])

    op.create_table(
        "billing_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("stripe_invoice_id", sa.Text()),
        sa.Column("number", sa.String(64)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("description", sa.String(300)),
        sa.Column("billing_reason", sa.String(40)),
        sa.Column("amount_due_cents", sa.Integer(), nullable=False),
        sa.Column("amount_paid_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True)),
        sa.Column("period_end", sa.DateTime(timezone=True)),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("hosted_url", sa.Text()),
        sa.Column("pdf_url", sa.Text()),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_billing_invoices"),
        sa.UniqueConstraint("stripe_invoice_id", name="uq_billing_invoices_stripe_invoice_id"),
    )
    op.create_index("ix_billing_invoices_tenant_id", "billing_invoices", ["tenant_id"])
    op.create_index("ix_billing_invoices_issued_at", "billing_invoices", ["issued_at"])


def downgrade() -> None:
    op.drop_table("billing_invoices")
    op.drop_index("ix_subscriptions_status", "subscriptions")
    op.drop_constraint("uq_subscriptions_stripe_subscription_id", "subscriptions")
    op.drop_constraint("uq_subscriptions_stripe_customer_id", "subscriptions")
    for name in (
        "stripe_synced_at",
        "payment_method",
        "stripe_subscription_id",
        "stripe_customer_id",
        "trial_reminder_sent_at",
        "dunning_notices",
        "past_due_since",
        "canceled_at",
        "cancel_at_period_end",
        "interval",
    ):
        op.drop_column("subscriptions", name)
    for name in (
        "stripe_price_year",
        "stripe_price_month",
        "features",
        "max_storage_mb",
        "yearly_price_cents",
    ):
        op.drop_column("plans", name)
    op.drop_column("tenants", "billing_closes_at")
