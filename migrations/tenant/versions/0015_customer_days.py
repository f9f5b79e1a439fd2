"""Analytics: the customers who browsed the shop signed in, by day, so that "active
customers" (who visited or bought) can be counted for any range.

Revision ID: t0015
Revises: t0014
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "t0015"
down_revision = "t0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_customer_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_analytics_customer_days_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", "customer_id", name=op.f("pk_analytics_customer_days")),
    )
    op.create_index(
        op.f("ix_analytics_customer_days_customer_id"),
        "analytics_customer_days",
        ["customer_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_analytics_customer_days_customer_id"), table_name="analytics_customer_days"
    )
    op.drop_table("analytics_customer_days")
