"""Member tiers: the tiers a shop defines, each customer's tier, what tiers are reached
by, and the tier discount an order got.

Revision ID: t0022
Revises: t0021
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "t0022"
down_revision = "t0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "loyalty_program",
        sa.Column("tier_basis", sa.String(10), nullable=False, server_default="spend"),
    )
    op.add_column("loyalty_program", sa.Column("tiers_checked_on", sa.Date()))
    op.create_table(
        "loyalty_tiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("discount_percent", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("free_shipping", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("points_multiplier_percent", sa.Integer(), nullable=False, server_default="100"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("threshold > 0", name=op.f("ck_loyalty_tiers_threshold_positive")),
        sa.CheckConstraint(
            "discount_percent BETWEEN 0 AND 90", name=op.f("ck_loyalty_tiers_discount_range")
        ),
        sa.CheckConstraint(
            "points_multiplier_percent BETWEEN 100 AND 1000",
            name=op.f("ck_loyalty_tiers_multiplier_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_tiers")),
        sa.UniqueConstraint("name", name=op.f("uq_loyalty_tiers_name")),
    )
    op.add_column("loyalty_accounts", sa.Column("tier_id", sa.Integer()))
    op.create_foreign_key(
        op.f("fk_loyalty_accounts_tier_id_loyalty_tiers"),
        "loyalty_accounts",
        "loyalty_tiers",
        ["tier_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_loyalty_accounts_tier_id"), "loyalty_accounts", ["tier_id"])
    op.add_column(
        "orders", sa.Column("tier_name", sa.String(60), nullable=False, server_default="")
    )
    op.add_column(
        "orders",
        sa.Column("tier_discount_cents", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("orders", "tier_discount_cents")
    op.drop_column("orders", "tier_name")
    op.drop_index(op.f("ix_loyalty_accounts_tier_id"), table_name="loyalty_accounts")
    op.drop_constraint(
        op.f("fk_loyalty_accounts_tier_id_loyalty_tiers"), "loyalty_accounts", type_="foreignkey"
    )
    op.drop_column("loyalty_accounts", "tier_id")
    op.drop_table("loyalty_tiers")
    op.drop_column("loyalty_program", "tiers_checked_on")
    op.drop_column("loyalty_program", "tier_basis")
