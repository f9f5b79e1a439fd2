"""Sales rolled up by shop-local day (`tenants.analytics.sales_models`): days, their
breakdowns (and by month), buyers (numbered), each buyer's first day, the collection
memberships used, the days gone stale, and the triggers on orders, order lines and
refunds that mark them.

The triggers' text is the same as `sales_models.TRIGGERS` (a schema built from the
models gets it from there). The rollup's row starts with no zone: the shop reads every
figure live, as before, until the first `roll_up_sales` rebuilds everything.

Revision ID: t0013
Revises: t0012
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "t0013"
down_revision = "t0012"
branch_labels = None
depends_on = None

TRIGGERS = """
CREATE FUNCTION {s}.analytics_sales_mark_orders() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    _zone text;
BEGIN
    SELECT r.zone INTO _zone FROM {s}.analytics_sales_rollup r WHERE r.id = 1 FOR KEY SHARE;
    IF _zone IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT (n.placed_at AT TIME ZONE _zone)::date FROM new_rows n
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT (o.placed_at AT TIME ZONE _zone)::date FROM old_rows o
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT (t.placed_at AT TIME ZONE _zone)::date
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        CROSS JOIN LATERAL (VALUES (o.placed_at), (n.placed_at)) t (placed_at)
        WHERE (o.placed_at, o.payment_status, o.customer_id, o.email, o.customer_name,
               o.subtotal_cents, o.discount_cents, o.shipping_cents, o.tax_cents,
               o.total_cents, o.discount_code, o.payment_method,
               o.shipping_address ->> 'country')
              IS DISTINCT FROM
              (n.placed_at, n.payment_status, n.customer_id, n.email, n.customer_name,
               n.subtotal_cents, n.discount_cents, n.shipping_cents, n.tax_cents,
               n.total_cents, n.discount_code, n.payment_method,
               n.shipping_address ->> 'country')
        UNION
        -- whether its refunds count follows the order's payment status
        SELECT (f.created_at AT TIME ZONE _zone)::date
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        JOIN {s}.refunds f ON f.order_id = n.id
        WHERE o.payment_status IS DISTINCT FROM n.payment_status
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION {s}.analytics_sales_mark_lines() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    _zone text;
BEGIN
    SELECT r.zone INTO _zone FROM {s}.analytics_sales_rollup r WHERE r.id = 1 FOR KEY SHARE;
    IF _zone IS NULL THEN
        RETURN NULL;
    END IF;
    -- (lines deleted with their order find it gone: the order's own trigger marks it)
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT (x.placed_at AT TIME ZONE _zone)::date
        FROM new_rows l JOIN {s}.orders x ON x.id = l.order_id
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT (x.placed_at AT TIME ZONE _zone)::date
        FROM old_rows l JOIN {s}.orders x ON x.id = l.order_id
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT (x.placed_at AT TIME ZONE _zone)::date
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        JOIN {s}.orders x ON x.id IN (o.order_id, n.order_id)
        WHERE (o.order_id, o.product_id, o.variant_id, o.title, o.variant_title, o.quantity,
               o.unit_price_cents, o.discount_cents)
              IS DISTINCT FROM
              (n.order_id, n.product_id, n.variant_id, n.title, n.variant_title, n.quantity,
               n.unit_price_cents, n.discount_cents)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION {s}.analytics_sales_mark_refunds() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    _zone text;
BEGIN
    SELECT r.zone INTO _zone FROM {s}.analytics_sales_rollup r WHERE r.id = 1 FOR KEY SHARE;
    IF _zone IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT (n.created_at AT TIME ZONE _zone)::date FROM new_rows n
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT (o.created_at AT TIME ZONE _zone)::date FROM old_rows o
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT (t.created_at AT TIME ZONE _zone)::date
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        CROSS JOIN LATERAL (VALUES (o.created_at), (n.created_at)) t (created_at)
        WHERE (o.order_id, o.amount_cents, o.created_at)
              IS DISTINCT FROM (n.order_id, n.amount_cents, n.created_at)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER analytics_sales_orders_insert AFTER INSERT ON {s}.orders
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_orders();
CREATE TRIGGER analytics_sales_orders_update AFTER UPDATE ON {s}.orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_orders();
CREATE TRIGGER analytics_sales_orders_delete AFTER DELETE ON {s}.orders
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_orders();
CREATE TRIGGER analytics_sales_lines_insert AFTER INSERT ON {s}.order_lines
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_lines();
CREATE TRIGGER analytics_sales_lines_update AFTER UPDATE ON {s}.order_lines
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_lines();
CREATE TRIGGER analytics_sales_lines_delete AFTER DELETE ON {s}.order_lines
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_lines();
CREATE TRIGGER analytics_sales_refunds_insert AFTER INSERT ON {s}.refunds
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_refunds();
CREATE TRIGGER analytics_sales_refunds_update AFTER UPDATE ON {s}.refunds
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_refunds();
CREATE TRIGGER analytics_sales_refunds_delete AFTER DELETE ON {s}.refunds
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.analytics_sales_mark_refunds();

INSERT INTO {s}.analytics_sales_rollup (id) VALUES (1);
"""


def upgrade() -> None:
    op.create_table(
        "analytics_sales_rollup",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("zone", sa.String(64), nullable=True),
        sa.Column("rolled_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_analytics_sales_rollup_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_sales_rollup")),
    )
    op.create_table(
        "analytics_sales_dirty",
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_analytics_sales_dirty")),
    )
    op.create_table(
        "analytics_sales_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        *(
            sa.Column(f"{name}_cents", sa.BigInteger(), nullable=False)
            for name in ("gross", "discounts", "shipping", "taxes", "totals", "refunds")
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_analytics_sales_days")),
    )
    op.create_table(
        "analytics_sales_day_items",
        sa.Column("dimension", sa.String(20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subtitle", sa.Text(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("discount_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "dimension", "day", "key", name=op.f("pk_analytics_sales_day_items")
        ),
    )
    op.create_table(
        "analytics_sales_month_items",
        sa.Column("dimension", sa.String(20), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subtitle", sa.Text(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("discount_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "dimension", "month", "key", name=op.f("pk_analytics_sales_month_items")
        ),
    )
    op.create_table(
        "analytics_sales_buyer_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_sales_buyer_keys")),
        sa.UniqueConstraint("key", name=op.f("uq_analytics_sales_buyer_keys_key")),
    )
    op.create_table(
        "analytics_sales_day_buyers",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("latest", sa.Text(collation="C"), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "buyer_id", name=op.f("pk_analytics_sales_day_buyers")),
    )
    op.create_index(
        "ix_analytics_sales_day_buyers_buyer_id",
        "analytics_sales_day_buyers",
        ["buyer_id", "day"],
        unique=False,
    )
    op.create_table(
        "analytics_sales_month_buyers",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "buyer_id", name=op.f("pk_analytics_sales_month_buyers")),
    )
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
    op.create_table(
        "analytics_sales_collection_members",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "collection_id", "product_id", name=op.f("pk_analytics_sales_collection_members")
        ),
    )
    # Tenant migrations run with the shop's schema first on the search path.
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    op.execute(TRIGGERS.format(s=f'"{schema}"'))


def downgrade() -> None:
    for table, name in [
        ("orders", "orders"),
        ("order_lines", "lines"),
        ("refunds", "refunds"),
    ]:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER analytics_sales_{name}_{event} ON {table}")
    for name in ("orders", "lines", "refunds"):
        op.execute(f"DROP FUNCTION analytics_sales_mark_{name}()")
    op.drop_table("analytics_sales_collection_members")
    op.drop_index(
        op.f("ix_analytics_sales_buyer_firsts_first_day"),
        table_name="analytics_sales_buyer_firsts",
    )
    op.drop_table("analytics_sales_buyer_firsts")
    op.drop_table("analytics_sales_month_buyers")
    op.drop_index("ix_analytics_sales_day_buyers_buyer_id", table_name="analytics_sales_day_buyers")
    op.drop_table("analytics_sales_day_buyers")
    op.drop_table("analytics_sales_buyer_keys")
    op.drop_table("analytics_sales_month_items")
    op.drop_table("analytics_sales_day_items")
    op.drop_table("analytics_sales_days")
    op.drop_table("analytics_sales_dirty")
    op.drop_table("analytics_sales_rollup")
