"""Referrals: the programme's referral rules, each customer's referral code, the
referrals made, and what an order owes to one.

Revision ID: t0023
Revises: t0022
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "t0023"
down_revision = "t0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name, default in (
        ("referral_percent", "0"),
        ("referral_points", "0"),
        ("referral_monthly_cap", "10"),
    ):
        op.add_column(
            "loyalty_program",
            sa.Column(name, sa.Integer(), nullable=False, server_default=default),
        )
    op.add_column("loyalty_accounts", sa.Column("referral_code", sa.String(24)))
    op.create_unique_constraint(
        op.f("uq_loyalty_accounts_referral_code"), "loyalty_accounts", ["referral_code"]
    )
    op.create_table(
        "loyalty_referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referrer_id", sa.Integer(), nullable=False),
        sa.Column("referred_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer()),
        sa.Column("rewarded", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("refused", sa.String(200), nullable=False, server_default=""),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["referrer_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_referrals_referrer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["referred_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_referrals_referred_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_loyalty_referrals_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_referrals")),
        sa.UniqueConstraint("referred_id", name=op.f("uq_loyalty_referrals_referred_id")),
    )
    op.create_index(op.f("ix_loyalty_referrals_referrer_id"), "loyalty_referrals", ["referrer_id"])
    op.add_column("orders", sa.Column("referrer_id", sa.Integer()))
    op.create_foreign_key(
        op.f("fk_orders_referrer_id_customers"),
        "orders",
        "customers",
        ["referrer_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column(
        "orders",
        sa.Column("referral_discount_cents", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("orders", "referral_discount_cents")
    op.drop_constraint(op.f("fk_orders_referrer_id_customers"), "orders", type_="foreignkey")
    op.drop_column("orders", "referrer_id")
    op.drop_table("loyalty_referrals")
    op.drop_constraint(
        op.f("uq_loyalty_accounts_referral_code"), "loyalty_accounts", type_="unique"
    )
    op.drop_column("loyalty_accounts", "referral_code")
    for name in ("referral_monthly_cap", "referral_points", "referral_percent"):
        op.drop_column("loyalty_program", name)
