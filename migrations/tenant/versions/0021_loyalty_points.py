"""Loyalty points: the shop's programme, each customer's points account, the ledger of
every change of points, what an order spent, and the customer's birthday.

Revision ID: t0021
Revises: t0020
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "t0021"
down_revision = "t0020"
branch_labels = None
depends_on = None


def _int(name: str, default: int) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default=str(default))


def upgrade() -> None:
    op.add_column("customers", sa.Column("birthday", sa.Date()))
    op.add_column("orders", _int("points_redeemed", 0))
    op.add_column("orders", _int("points_discount_cents", 0))
    op.create_table(
        "loyalty_program",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default="false"),
        _int("points_per_unit", 1),
        _int("signup_points", 0),
        _int("first_order_points", 0),
        _int("review_points", 0),
        _int("birthday_points", 0),
        _int("points_per_unit_off", 100),
        _int("min_redeem", 100),
        _int("max_share_percent", 50),
        _int("holding_days", 14),
        _int("expiry_months", 0),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_loyalty_program_single_row")),
        sa.CheckConstraint(
            "points_per_unit >= 0 AND signup_points >= 0 AND first_order_points >= 0 "
            "AND review_points >= 0 AND birthday_points >= 0",
            name=op.f("ck_loyalty_program_earning_not_negative"),
        ),
        sa.CheckConstraint(
            "points_per_unit_off > 0", name=op.f("ck_loyalty_program_redeem_rate_positive")
        ),
        sa.CheckConstraint(
            "max_share_percent BETWEEN 1 AND 100", name=op.f("ck_loyalty_program_share_range")
        ),
        sa.CheckConstraint(
            "min_redeem >= 0 AND holding_days >= 0 AND expiry_months >= 0",
            name=op.f("ck_loyalty_program_limits_not_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_program")),
    )
    op.create_table(
        "loyalty_accounts",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        _int("balance", 0),
        _int("pending", 0),
        sa.Column(
            "last_activity_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_loyalty_accounts_balance_not_negative")),
        sa.CheckConstraint("pending >= 0", name=op.f("ck_loyalty_accounts_pending_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_accounts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_loyalty_accounts")),
    )
    op.create_table(
        "loyalty_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column(
            "available_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("order_id", sa.Integer()),
        sa.Column("staff_id", sa.Integer()),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("forgiven", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("key", sa.String(100)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "points <> 0 OR forgiven > 0", name=op.f("ck_loyalty_entries_points_not_zero")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_entries_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_loyalty_entries_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_loyalty_entries_key")),
    )
    op.create_index("ix_loyalty_entries_customer", "loyalty_entries", ["customer_id", "id"])
    op.create_index(
        "ix_loyalty_entries_held",
        "loyalty_entries",
        ["available_at"],
        postgresql_where=sa.text("held"),
    )
    op.create_index(op.f("ix_loyalty_entries_order_id"), "loyalty_entries", ["order_id"])


def downgrade() -> None:
    op.drop_table("loyalty_entries")
    op.drop_table("loyalty_accounts")
    op.drop_table("loyalty_program")
    op.drop_column("orders", "points_discount_cents")
    op.drop_column("orders", "points_redeemed")
    op.drop_column("customers", "birthday")
