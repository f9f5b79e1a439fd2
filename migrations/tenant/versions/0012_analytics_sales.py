"""Sales analytics: what a unit cost (the stock's value at cost), and refunds by day.

`product_variants.cost_cents` is optional: only variants whose cost the merchant gave
count in "inventory value at cost". Refunds are indexed by when they were made, since a
refund belongs to the analytics of that day, not to its order's.

Revision ID: t0012
Revises: t0011
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "t0012"
down_revision = "t0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("product_variants", sa.Column("cost_cents", sa.Integer(), nullable=True))
    op.create_check_constraint(
        op.f("ck_product_variants_cost_not_negative"),
        "product_variants",
        "cost_cents IS NULL OR cost_cents >= 0",
    )
    op.create_index(op.f("ix_refunds_created_at"), "refunds", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_refunds_created_at"), table_name="refunds")
    op.drop_constraint(
        op.f("ck_product_variants_cost_not_negative"), "product_variants", type_="check"
    )
    op.drop_column("product_variants", "cost_cents")
