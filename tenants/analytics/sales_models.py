"""Sales rolled up by shop-local day: what `tenants.analytics.sales_rollup` writes and the
sales reports read for every day that is not stale.

A day's rows are the figures of the counted orders placed that day (and the refunds made
that day), grouped as the reports group them; a reader adds up the clean days of a range
and computes the stale ones (`analytics_sales_dirty`) live, in the same statement.

Staleness is marked by PostgreSQL itself (`TRIGGERS` below, installed by migration t0013
and by `install_triggers` for a schema built from these models): orders change from
checkout, webhooks, refunds, back-office edits and imports, and a trigger never misses
one and marks in the same transaction. The triggers mark days in the zone the rollup was
computed in (`analytics_sales_rollup.zone`), not the settings' zone: those are the days
whose rows are wrong, and while that zone is NULL (never rolled up, or the shop's zone
changed) nothing is read from the rollup, so there is nothing to mark.

Private tables: nothing here is ever on a storefront page.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TENANT_SCHEMA, TenantModel, checked_schema


class SalesRollup(TenantModel):
    """The rollup's one row: the zone its days are in (NULL: nothing rolled up, read
    everything live). Writers of orders take FOR KEY SHARE on it when marking days, a
    rebuild FOR UPDATE, so no order slips between a rebuild's reading and its commit."""

    __tablename__ = "analytics_sales_rollup"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
    storefront_visible = False

    id: Mapped[int] = mapped_column(primary_key=True, default=1, autoincrement=False)
    zone: Mapped[str | None] = mapped_column(String(64))
    rolled_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SalesDirty(TenantModel):
    """A local day whose rolled-up rows are stale (or missing): read live until rolled."""

    __tablename__ = "analytics_sales_dirty"
    storefront_visible = False

    day: Mapped[date] = mapped_column(Date, primary_key=True)


class SalesDay(TenantModel):
    """A day's counted orders and the refunds made that day (of counted orders)."""

    __tablename__ = "analytics_sales_days"
    storefront_visible = False

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    gross_cents: Mapped[int] = mapped_column(BigInteger)
    discounts_cents: Mapped[int] = mapped_column(BigInteger)
    shipping_cents: Mapped[int] = mapped_column(BigInteger)
    taxes_cents: Mapped[int] = mapped_column(BigInteger)
    totals_cents: Mapped[int] = mapped_column(BigInteger)
    refunds_cents: Mapped[int] = mapped_column(BigInteger)


class SalesDayItem(TenantModel):
    """A day's sales of one product, variant, collection, discount code, payment method
    or country (`breakdowns.DIMENSIONS`). `key` tells the groups apart exactly as the
    breakdown groups them (a deleted product's lines by title, not with a live product
    whose id reads the same); what a report shows as `Row.key` and `Row.label` is worked
    out when read, from `ref_id`, `title` and `subtitle` and the catalog as it is then."""

    __tablename__ = "analytics_sales_day_items"
    storefront_visible = False

    # Dimension first: a report reads one dimension over a span of days.
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    ref_id: Mapped[int | None] = mapped_column(Integer)  # product, variant or collection id
    product_id: Mapped[int | None] = mapped_column(Integer)  # a variant's product
    title: Mapped[str] = mapped_column(Text)  # line title, or the code as typed
    subtitle: Mapped[str] = mapped_column(Text)  # a variant line's variant title
    orders: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(BigInteger)
    revenue_cents: Mapped[int] = mapped_column(BigInteger)
    discount_cents: Mapped[int] = mapped_column(BigInteger)


class SalesMonthItem(TenantModel):
    """A calendar month's `SalesDayItem` rows added up: a year's report reads twelve
    months of rows, not 365 days of them (a month with a stale day is read by day)."""

    __tablename__ = "analytics_sales_month_items"
    storefront_visible = False

    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    ref_id: Mapped[int | None] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    subtitle: Mapped[str] = mapped_column(Text)
    orders: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(BigInteger)
    revenue_cents: Mapped[int] = mapped_column(BigInteger)
    discount_cents: Mapped[int] = mapped_column(BigInteger)


class SalesBuyerKey(TenantModel):
    """A number for each buyer's key (`sale_orders.customer_key`: an account id, else an
    email): a year holds some 100,000 (day, buyer) rows, and grouping them by an integer
    is several times faster than by text. `spent_cents` is what the buyer's rolled-up days
    add up to: no range of clean days can hold more, which lets top customers look at the
    biggest spenders first (`buyers.top_customers`). The rollup keeps it right for the
    buyers of the days it rolls up; elsewhere it may only be too high (a buyer whose
    orders all went), which keeps it a bound."""

    __tablename__ = "analytics_sales_buyer_keys"
    __table_args__ = (Index("ix_analytics_sales_buyer_keys_spent_cents", "spent_cents"),)
    storefront_visible = False

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)  # the account the key is
    spent_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class SalesDayBuyer(TenantModel):
    """What one buyer bought on a day. `latest` is the day's latest order as sortable
    text: its UTC time, then the name on it (top customers show the range's latest name,
    the `max` of this)."""

    __tablename__ = "analytics_sales_day_buyers"
    __table_args__ = (Index("ix_analytics_sales_day_buyers_buyer_id", "buyer_id", "day"),)
    storefront_visible = False

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    buyer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    latest: Mapped[str] = mapped_column(Text(collation="C"))
    orders: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(BigInteger)


class SalesMonthBuyer(TenantModel):
    """A calendar month's `SalesDayBuyer` rows added up per buyer (fewer rows to read
    for a long range: most buyers buy on few days of a month, the regulars on many)."""

    __tablename__ = "analytics_sales_month_buyers"
    storefront_visible = False

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    buyer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(Integer)


class SalesBuyerSet(TenantModel):
    """The numbers (`SalesBuyerKey`) of a day's or a calendar month's buyers (`kind`
    "bought") or active customers ("active": bought, or browsed signed in), as a
    serialised Roaring bitmap: a year's distinct customers are twelve month sets OR-ed
    together, not 100,000 (day, buyer) rows counted distinct (`buyer_sets`)."""

    __tablename__ = "analytics_sales_buyer_sets"
    storefront_visible = False

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)  # "day" or "month"
    start: Mapped[date] = mapped_column(Date, primary_key=True)  # the day, or the month's 1st
    members: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)  # how many numbers the set holds
    day_sizes: Mapped[int] = mapped_column(Integer)  # its days' sizes added up (a day: size)


class SalesCollectionMember(TenantModel):
    """The collection memberships the rolled-up collection rows were computed with.

    Membership is today's in every report (manual lists and automatic rules as they are
    now), and an automatic collection changes whenever a product's price or tags do: no
    trigger marks that. The rollup and the readers compare this with the membership of
    now instead, and treat a collection that differs as stale everywhere. (Rolling the
    collections up by product would need no such check, but an order with two products
    of one collection would count twice.)"""

    __tablename__ = "analytics_sales_collection_members"
    storefront_visible = False

    collection_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)


# --- the triggers that mark days stale ---------------------------------------------------
#
# Statement-level, with transition tables: an import or a bulk update marks its days with
# one INSERT ... SELECT DISTINCT, not one per row. Every change is marked whatever the
# order's payment status (a superset is harmless, and the SQL need not repeat which
# statuses count); updates only when a column the reports read changed (not fulfilment).
# The same text is in migration t0013; tests compare a built schema with a migrated one.

_MARK_FUNCTION = """
CREATE FUNCTION {{s}}.analytics_sales_mark_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    _zone text;
BEGIN
    SELECT r.zone INTO _zone FROM {{s}}.analytics_sales_rollup r WHERE r.id = 1 FOR KEY SHARE;
    IF _zone IS NULL THEN
        RETURN NULL;
    END IF;
{body}    RETURN NULL;
END
$$;
"""
_MARK = "        INSERT INTO {s}.analytics_sales_dirty (day)\n"
_DONE = "\n        ON CONFLICT DO NOTHING;\n"
_REFERENCING = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}


def _marker(name: str, inserted: str, deleted: str, updated: str, note: str = "") -> str:
    """The function of `name`'s triggers: it marks the days that the inserted, deleted
    or updated rows touch (each a SELECT over `new_rows` and/or `old_rows`)."""
    body = (
        f"{note}    IF TG_OP = 'INSERT' THEN\n{_MARK}{inserted}{_DONE}"
        f"    ELSIF TG_OP = 'DELETE' THEN\n{_MARK}{deleted}{_DONE}"
        f"    ELSE\n{_MARK}{updated}{_DONE}    END IF;\n"
    )
    return _MARK_FUNCTION.format(name=name, body=body)


def _triggers(name: str, table: str, *ops: str) -> str:
    return "".join(
        f"CREATE TRIGGER analytics_sales_{name}_{op} AFTER {op.upper()} ON {{s}}.{table}\n"
        f"    REFERENCING {_REFERENCING[op]}\n"
        f"    FOR EACH STATEMENT EXECUTE FUNCTION {{s}}.analytics_sales_mark_{name}();\n"
        for op in ops
    )


_EVERY = ("insert", "update", "delete")

# The text is built, not written out, because the three functions share all but their
# SELECTs; it must stay byte for byte what t0013 and t0016 install (a test compares the
# definitions of a built schema with a migrated one).
TRIGGERS = (
    _marker(  # noqa: S608 (constant text: no value from outside reaches it)
        "orders",
        "        SELECT DISTINCT (n.placed_at AT TIME ZONE _zone)::date FROM new_rows n",
        "        SELECT DISTINCT (o.placed_at AT TIME ZONE _zone)::date FROM old_rows o",
        """        SELECT DISTINCT (t.placed_at AT TIME ZONE _zone)::date
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
        WHERE o.payment_status IS DISTINCT FROM n.payment_status""",
    )
    + _marker(
        "lines",
        """        SELECT DISTINCT (x.placed_at AT TIME ZONE _zone)::date
        FROM new_rows l JOIN {s}.orders x ON x.id = l.order_id""",
        """        SELECT DISTINCT (x.placed_at AT TIME ZONE _zone)::date
        FROM old_rows l JOIN {s}.orders x ON x.id = l.order_id""",
        """        SELECT DISTINCT (x.placed_at AT TIME ZONE _zone)::date
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        JOIN {s}.orders x ON x.id IN (o.order_id, n.order_id)
        WHERE (o.order_id, o.product_id, o.variant_id, o.title, o.variant_title, o.quantity,
               o.unit_price_cents, o.discount_cents)
              IS DISTINCT FROM
              (n.order_id, n.product_id, n.variant_id, n.title, n.variant_title, n.quantity,
               n.unit_price_cents, n.discount_cents)""",
        note="    -- (lines deleted with their order find it gone: "
        "the order's own trigger marks it)\n",
    )
    + _marker(
        "refunds",
        "        SELECT DISTINCT (n.created_at AT TIME ZONE _zone)::date FROM new_rows n",
        "        SELECT DISTINCT (o.created_at AT TIME ZONE _zone)::date FROM old_rows o",
        """        SELECT DISTINCT (t.created_at AT TIME ZONE _zone)::date
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        CROSS JOIN LATERAL (VALUES (o.created_at), (n.created_at)) t (created_at)
        WHERE (o.order_id, o.amount_cents, o.created_at)
              IS DISTINCT FROM (n.order_id, n.amount_cents, n.created_at)""",
    )
    + "\n"
    + _triggers("orders", "orders", *_EVERY)
    + _triggers("lines", "order_lines", *_EVERY)
    + _triggers("refunds", "refunds", *_EVERY)
    + "\nINSERT INTO {s}.analytics_sales_rollup (id) VALUES (1);\n"
)


# A customer's browsing days change who was active on them (t0016 installs the same).
BROWSED_TRIGGERS = (
    _MARK_FUNCTION.format(  # noqa: S608 (constant text)
        name="browsed",
        body="""    IF TG_OP = 'INSERT' THEN
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT n.day FROM new_rows n ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO {s}.analytics_sales_dirty (day)
        SELECT DISTINCT o.day FROM old_rows o ON CONFLICT DO NOTHING;
    END IF;
""",
    )
    + "\n"
    + _triggers("browsed", "analytics_customer_days", "insert", "delete")
)


def install_triggers(connection: Any, schema: str) -> None:
    """The triggers (and the rollup's row) in `schema`, whose tables exist already."""
    schema = checked_schema(schema)
    connection.exec_driver_sql(TRIGGERS.format(s=f'"{schema}"'))
    connection.exec_driver_sql(BROWSED_TRIGGERS.format(s=f'"{schema}"'))


@event.listens_for(TenantModel.metadata, "after_create")
def _after_create(target: Any, connection: Any, **kw: Any) -> None:
    """A shop's schema built from the models (provisioning) gets what t0013 installs."""
    tables = kw.get("tables")
    if tables is not None and SalesRollup.__table__ not in tables:
        return
    schema_map = connection.get_execution_options().get("schema_translate_map") or {}
    schema = schema_map.get(TENANT_SCHEMA)
    if schema is None:  # built on the placeholder itself: no shop to install into
        return
    install_triggers(connection, schema)
