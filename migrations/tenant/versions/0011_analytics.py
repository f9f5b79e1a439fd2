"""Analytics: visits rolled up by day (days, counts by dimension, folded hours), and the
merchant's switch to respect Do Not Track / Global Privacy Control.

Revision ID: t0011
Revises: t0010
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "t0011"
down_revision = "t0010"
branch_labels = None
depends_on = None

_DAY_FIELDS = (
    "pageviews",
    "visitors",
    "sessions",
    "product_sessions",
    "cart_sessions",
    "checkout_sessions",
    "order_sessions",
)


def upgrade() -> None:
    op.create_table(
        "analytics_days",
        sa.Column("day", sa.Date(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), server_default="0", nullable=False)
            for name in _DAY_FIELDS
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_analytics_days")),
    )
    op.create_table(
        "analytics_day_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(20), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "dimension", "value", name=op.f("pk_analytics_day_counts")),
    )
    op.create_table(
        "analytics_folded_hours",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "folded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("hour", name=op.f("pk_analytics_folded_hours")),
    )
    op.add_column(
        "shop_settings",
        sa.Column("respect_privacy_signals", sa.Boolean(), server_default="false", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("shop_settings", "respect_privacy_signals")
    op.drop_table("analytics_folded_hours")
    op.drop_table("analytics_day_counts")
    op.drop_table("analytics_days")
