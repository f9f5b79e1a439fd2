"""Analytics: sets of buyers and active customers per day and month (Roaring bitmaps),
instead of each buyer's first day; what each buyer spent on all rolled-up days (top
customers look at the biggest spenders first); triggers that mark a day stale when who
browsed it signed in changes; visit counts added up by month too (from the day rows
already there), and the day rows indexed by dimension.

The trigger text is the same as `sales_models.BROWSED_TRIGGERS`. The rollup forgets its
zone, so the reports read live until the next rollup rebuilds every day with the sets.

Revision ID: t0016
Revises: t0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0016"
down_revision = "t0015"
branch_labels = None
depends_on = None

BROWSED_TRIGGERS = """
CREATE FUNCTION {s}.analytics_sales_mark_browsed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    _zone text;
BEGIN
    SELECT r.zone INTO _zone FROM {s}.analytics_sales_rollup r WHERE r.id = 1 FOR KEY SHARE;
    IF _zone IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT n.day FROM new_rows n ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT o.day FROM old_rows o ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER analytics_sales_browsed_insert AFTER INSERT ON {s}.analytics_customer_days
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_browsed();
CREATE TRIGGER analytics_sales_browsed_delete AFTER DELETE ON {s}.analytics_customer_days
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_browsed();
"""


def _forget_rollup() -> None:
    op.execute("UPDATE analytics_sales_rollup SET zone = NULL")
    op.execute("DELETE FROM analytics_sales_dirty")


def upgrade() -> None:
    op.create_table(
        "analytics_sales_buyer_sets",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("members", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("day_sizes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "kind", "grain", "start", name=op.f("pk_analytics_sales_buyer_sets")
        ),
    )
    op.drop_index(
        op.f("ix_analytics_sales_buyer_firsts_first_day"),
        table_name="analytics_sales_buyer_firsts",
    )
    op.drop_table("analytics_sales_buyer_firsts")
    op.add_column(
        "analytics_sales_buyer_keys",
        sa.Column("spent_cents", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.create_index(
        "ix_analytics_sales_buyer_keys_spent_cents",
        "analytics_sales_buyer_keys",
        ["spent_cents"],
        unique=False,
    )
    op.create_table(
        "analytics_month_counts",
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "dimension", "month", "value", name=op.f("pk_analytics_month_counts")
        ),
    )
    op.execute(
        """INSERT INTO analytics_month_counts (dimension, month, value, count)
        SELECT dimension, date_trunc('month', day)::date, value, sum(count)
        FROM analytics_day_counts GROUP BY 1, 2, 3"""
    )
    op.create_index(
        "ix_analytics_day_counts_dimension_day",
        "analytics_day_counts",
        ["dimension", "day"],
        unique=False,
    )
    # Tenant migrations run with the shop's schema first on the search path.
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    op.execute(BROWSED_TRIGGERS.format(s=f'"{schema}"'))
    _forget_rollup()


def downgrade() -> None:
    for event in ("insert", "delete"):
        op.execute(f"DROP TRIGGER analytics_sales_browsed_{event} ON analytics_customer_days")
    op.execute("DROP FUNCTION analytics_sales_mark_browsed()")
    op.create_table(
        "analytics_sales_buyer_firsts",
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("buyer_id", name=op.f("pk_analytics_sales_buyer_firsts")),
    )
    op.create_index(
        op.f("ix_analytics_sales_buyer_firsts_first_day"),
        "analytics_sales_buyer_firsts",
        ["first_day"],
        unique=False,
    )
    op.drop_index("ix_analytics_day_counts_dimension_day", table_name="analytics_day_counts")
    op.drop_table("analytics_month_counts")
    op.drop_index(
        "ix_analytics_sales_buyer_keys_spent_cents", table_name="analytics_sales_buyer_keys"
    )
    op.drop_column("analytics_sales_buyer_keys", "spent_cents")
    op.drop_table("analytics_sales_buyer_sets")
    _forget_rollup()
