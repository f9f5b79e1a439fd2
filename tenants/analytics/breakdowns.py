"""Sales broken down by product, variant, collection, discount code, payment method and
country, for a date range: each one query (two for collections), grouped in PostgreSQL.

Breakdowns by line (product, variant, collection) count the lines' amounts after their
share of the discount; breakdowns by order (discount code, payment method, country)
count what those orders came to (`total_cents`, before any later refund). `sales`
re-exports everything here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import String, case, cast, distinct, exists, func, literal, select, union_all

from saas.db import db
from tenants.analytics.ranges import DateRange
from tenants.analytics.sale_orders import placed_between
from tenants.catalog.models import Product, ProductVariant
from tenants.collections.models import Collection, CollectionKind, CollectionProduct
from tenants.collections.services import products_query
from tenants.geo.addresses import country_name
from tenants.orders.models import PAYMENT_METHOD_LABELS, Order, OrderLine


def _sum(column: Any) -> Any:
    return func.coalesce(func.sum(column), 0)


@dataclass(frozen=True)
class Row:
    key: str  # stable: an id as text, or a name when the thing it was is gone
    label: str
    orders: int
    units: int
    revenue_cents: int
    discount_cents: int = 0  # by_discount_code: the discounts those orders were given


_line_revenue = OrderLine.unit_price_cents * OrderLine.quantity - OrderLine.discount_cents


def _sold_lines(r: DateRange, zone: ZoneInfo) -> Any:
    start, end = r.bounds(zone)
    return (
        select(
            OrderLine.order_id,
            OrderLine.product_id,
            OrderLine.variant_id,
            OrderLine.title,
            OrderLine.variant_title,
            OrderLine.quantity,
            _line_revenue.label("revenue"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(*placed_between(start, end))
    )


def by_product(
    r: DateRange,
    zone: ZoneInfo,
    *,
    order_by: Literal["revenue", "units"] = "revenue",
    limit: int | None = 10,
    ascending: bool = False,
) -> list[Row]:
    """Products by sales or units sold. A line whose product was deleted counts under its
    title. Ascending (the slowest sellers) also lists the catalog's products that sold
    nothing in the range, first."""
    lines = _sold_lines(r, zone).subquery("lines")
    title_when_gone = case((lines.c.product_id.is_(None), lines.c.title))
    sold = (
        select(
            lines.c.product_id,
            func.max(lines.c.title).label("title"),
            func.count(distinct(lines.c.order_id)).label("orders"),
            _sum(lines.c.quantity).label("units"),
            _sum(lines.c.revenue).label("revenue"),
        )
        .group_by(lines.c.product_id, title_when_gone)
        .cte("sold")
    )
    rows = select(
        func.coalesce(cast(sold.c.product_id, String), sold.c.title).label("key"),
        func.coalesce(Product.title, sold.c.title).label("label"),
        sold.c.orders,
        sold.c.units,
        sold.c.revenue,
    ).select_from(sold.outerjoin(Product, Product.id == sold.c.product_id))
    if ascending:
        unsold = select(
            cast(Product.id, String),
            Product.title,
            literal(0),
            literal(0),
            literal(0),
        ).where(~exists().where(sold.c.product_id == Product.id))
        rows = union_all(rows, unsold)  # type: ignore[assignment]
    ranked = rows.subquery("ranked")
    measure = ranked.c.units if order_by == "units" else ranked.c.revenue
    other = ranked.c.revenue if order_by == "units" else ranked.c.units
    direction = (lambda c: c.asc()) if ascending else (lambda c: c.desc())
    query = select(*ranked.c).order_by(
        direction(measure), direction(other), ranked.c.label, ranked.c.key
    )
    return _rows(db.session.execute(query.limit(limit)).all())


def _rows(result: Any) -> list[Row]:
    return [Row(str(k), str(label), int(o), int(u), int(rev)) for k, label, o, u, rev in result]


def by_variant(r: DateRange, zone: ZoneInfo, limit: int | None = 10) -> list[Row]:
    """Variants by sales: "Product / Size", or the product's name for a product that
    comes in one variant only; a deleted variant counts under its titles."""
    lines = _sold_lines(r, zone).subquery("lines")
    gone = lines.c.variant_id.is_(None)
    sold = (
        select(
            lines.c.variant_id,
            func.max(lines.c.product_id).label("product_id"),
            func.max(lines.c.title).label("title"),
            func.max(lines.c.variant_title).label("variant_title"),
            func.count(distinct(lines.c.order_id)).label("orders"),
            _sum(lines.c.quantity).label("units"),
            _sum(lines.c.revenue).label("revenue"),
        )
        .group_by(
            lines.c.variant_id,
            case((gone, lines.c.title)),
            case((gone, lines.c.variant_title)),
        )
        .subquery("sold")
    )
    product_title = func.coalesce(Product.title, sold.c.title)
    options = func.concat_ws(
        " / ", ProductVariant.option1, ProductVariant.option2, ProductVariant.option3
    )
    # The variant's options as they are now; its title on the order once it is gone.
    variant_title = func.nullif(
        case((ProductVariant.id.is_(None), sold.c.variant_title), else_=options), ""
    )
    query = (
        select(
            func.coalesce(
                cast(sold.c.variant_id, String),
                func.concat_ws(" / ", sold.c.title, func.nullif(sold.c.variant_title, "")),
            ).label("key"),
            func.coalesce(product_title + " / " + variant_title, product_title).label("label"),
            sold.c.orders,
            sold.c.units,
            sold.c.revenue,
        )
        .select_from(
            sold.outerjoin(ProductVariant, ProductVariant.id == sold.c.variant_id).outerjoin(
                Product,
                Product.id == func.coalesce(ProductVariant.product_id, sold.c.product_id),
            )
        )
        .order_by(sold.c.revenue.desc(), sold.c.units.desc(), "label", "key")
        .limit(limit)
    )
    return _rows(db.session.execute(query).all())


def _memberships() -> Any:
    """(collection_id, product_id) of every collection as it stands today: the manual
    ones' lists, and the products each automatic one's rules match now (the rules are
    PostgreSQL conditions too, `collections.services.products_query`)."""
    manual = select(
        CollectionProduct.collection_id.label("collection_id"),
        CollectionProduct.product_id.label("product_id"),
    )
    parts = [manual]
    automatic = db.session.scalars(
        select(Collection).where(Collection.kind == CollectionKind.AUTOMATIC)
    ).all()
    for collection in automatic:
        members = products_query(collection, active_only=False).order_by(None)
        parts.append(members.with_only_columns(literal(collection.id), Product.id))
    return union_all(*parts).subquery("members")


def by_collection(r: DateRange, zone: ZoneInfo, limit: int | None = 10) -> list[Row]:
    """Collections by the sales of the products in them today (a product in two
    collections counts in both). Manual collections by their list, automatic ones by
    their rules as they are now."""
    lines = _sold_lines(r, zone).subquery("lines")
    members = _memberships()
    query = (
        select(
            cast(Collection.id, String),
            func.max(Collection.title),
            func.count(distinct(lines.c.order_id)),
            _sum(lines.c.quantity),
            _sum(lines.c.revenue).label("revenue"),
        )
        .select_from(lines)
        .join(members, members.c.product_id == lines.c.product_id)
        .join(Collection, Collection.id == members.c.collection_id)
        .group_by(Collection.id)
        .order_by(_sum(lines.c.revenue).desc(), func.max(Collection.title), Collection.id)
        .limit(limit)
    )
    return _rows(db.session.execute(query).all())


def _by_order(r: DateRange, zone: ZoneInfo, dimension: Any, *extra: Any, where: Any = None) -> Any:
    """Counted orders of the range grouped by `dimension`: orders, units, their totals,
    then `extra` aggregates; the biggest totals first."""
    start, end = r.bounds(zone)
    conditions = placed_between(start, end) + ([where] if where is not None else [])
    orders = select(
        Order.id,
        dimension.label("dimension"),
        Order.total_cents,
        Order.discount_cents,
        Order.discount_code.label("code"),
    ).where(*conditions)
    sale = orders.cte("sale")
    # Units per dimension, from the lines, joined to the orders' figures per dimension
    # (not per order: a join of two small grouped sets, not of 100,000 orders).
    units = (
        select(sale.c.dimension, func.sum(OrderLine.quantity).label("units"))
        .select_from(sale.join(OrderLine, OrderLine.order_id == sale.c.id))
        .group_by(sale.c.dimension)
        .subquery("units")
    )
    totals = (
        select(
            sale.c.dimension,
            func.count().label("orders"),
            _sum(sale.c.total_cents).label("revenue"),
            *[e(sale).label(f"extra_{n}") for n, e in enumerate(extra)],
        )
        .group_by(sale.c.dimension)
        .subquery("totals")
    )
    return (
        select(
            totals.c.dimension,
            totals.c.orders,
            func.coalesce(units.c.units, 0),
            totals.c.revenue,
            *[totals.c[f"extra_{n}"] for n in range(len(extra))],
        )
        .select_from(
            totals.outerjoin(units, units.c.dimension.is_not_distinct_from(totals.c.dimension))
        )
        .order_by(totals.c.revenue.desc(), totals.c.orders.desc(), totals.c.dimension)
    )


def by_discount_code(r: DateRange, zone: ZoneInfo, limit: int | None = 10) -> list[Row]:
    """Discount codes by the totals of the orders that used them; `discount_cents` is
    what those orders were given off. Codes are grouped whatever their case (key: the
    code in lower case; label: as it was typed on an order)."""
    query = _by_order(
        r,
        zone,
        func.lower(Order.discount_code),
        lambda sale: _sum(sale.c.discount_cents),
        lambda sale: func.max(sale.c.code),
        where=func.coalesce(Order.discount_code, "") != "",
    ).limit(limit)
    return [
        Row(key, label, int(orders), int(units), int(revenue), int(discount))
        for key, orders, units, revenue, discount, label in db.session.execute(query).all()
    ]


def by_payment_method(r: DateRange, zone: ZoneInfo) -> list[Row]:
    """Payment methods by the totals of their orders ("none": nothing was due)."""
    query = _by_order(r, zone, func.coalesce(Order.payment_method, "none"))
    return [
        Row(
            method,
            PAYMENT_METHOD_LABELS.get(method, "No payment" if method == "none" else method),
            int(orders),
            int(units),
            int(revenue),
        )
        for method, orders, units, revenue in db.session.execute(query).all()
    ]


def by_country(r: DateRange, zone: ZoneInfo, limit: int | None = 10) -> list[Row]:
    """Countries the orders were shipped to, by the orders' totals (key: the ISO code,
    "" for orders without a shipping address)."""
    country = func.upper(func.coalesce(Order.shipping_address["country"].astext, ""))
    query = _by_order(r, zone, country).limit(limit)
    return [
        Row(code, country_name(code) if code else "No shipping address", *map(int, figures))
        for code, *figures in db.session.execute(query).all()
    ]
