"""Stripe: merchants' connected accounts and the webhook events received (deduplication).

Revision ID: p0004
Revises: p0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "p0004"
down_revision = "p0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stripe_accounts",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column(
            "connected_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_stripe_accounts"),
        sa.UniqueConstraint("tenant_id", name="uq_stripe_accounts_tenant_id"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            ondelete="CASCADE",
            name="fk_stripe_accounts_tenant_id_tenants",
        ),
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("account", sa.Text()),
        sa.Column("tenant_id", sa.Integer()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_stripe_events"),
    )
    op.create_index("ix_stripe_events_tenant_id", "stripe_events", ["tenant_id"])
    op.create_index("ix_stripe_events_received_at", "stripe_events", ["received_at"])


def downgrade() -> None:
    op.drop_table("stripe_events")
    op.drop_table("stripe_accounts")
