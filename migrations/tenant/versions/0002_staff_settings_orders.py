"""Staff accounts and their tokens, shop settings, orders; stock on products.

Revision ID: t0002
Revises: t0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None


def _ts(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def _created() -> sa.Column:
    return _ts("created_at", server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.add_column("products", sa.Column("inventory_quantity", sa.Integer()))
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("permissions", sa.ARRAY(sa.String(20)), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("invited_by_id", sa.Integer()),
        _ts("last_login_at"),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_email")),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["staff.id"],
            ondelete="SET NULL",
            name=op.f("fk_staff_invited_by_id_staff"),
        ),
    )
    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_tokens_token_hash")),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            ondelete="CASCADE",
            name=op.f("fk_staff_tokens_staff_id_staff"),
        ),
    )
    op.create_index(op.f("ix_staff_tokens_staff_id"), "staff_tokens", ["staff_id"])
    op.create_table(
        "shop_settings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("contact_email", sa.String(320), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("address_line1", sa.String(200), nullable=False),
        sa.Column("address_line2", sa.String(200), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("postal_code", sa.String(20), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("logo_file", sa.String(100)),
        sa.Column("storefront_password_hash", sa.String(255)),
        sa.Column("theme_chosen", sa.Boolean(), nullable=False),
        sa.Column("payments_ready", sa.Boolean(), nullable=False),
        _ts("updated_at", server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_settings")),
        sa.CheckConstraint("id = 1", name=op.f("ck_shop_settings_single_row")),
    )
    # Shops made before settings existed get their row now.
    op.execute(
        "INSERT INTO shop_settings (id, contact_email, currency, timezone, address_line1,"
        " address_line2, city, region, postal_code, country, theme_chosen, payments_ready)"
        " VALUES (1, '', 'USD', 'UTC', '', '', '', '', '', '', false, false)"
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        _ts("placed_at", server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_orders_number")),
        sa.CheckConstraint("total_cents >= 0", name=op.f("ck_orders_total_not_negative")),
    )
    op.create_index(op.f("ix_orders_placed_at"), "orders", ["placed_at"])


def downgrade() -> None:
    op.drop_table("orders")
    op.drop_table("shop_settings")
    op.drop_table("staff_tokens")
    op.drop_table("staff")
    op.drop_column("products", "inventory_quantity")
