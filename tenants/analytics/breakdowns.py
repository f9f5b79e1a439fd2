"""Sales broken down by product, variant, collection, discount code, payment method and
country, for a date range, grouped in PostgreSQL.

Breakdowns by line (product, variant, collection) count the lines' amounts after their
share of the discount; breakdowns by order (discount code, payment method, country)
count what those orders came to (`total_cents`, before any later refund). `sales`
re-exports everything here.

Each breakdown is grouped by day first (`item_rows`): the rollup stores those rows, and
a report adds the stored rows of its clean days to the same rows computed live for the
rest (`sale_orders.sources`), then groups by key. An order is on one day, so its count
adds up across days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Text,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
)

from saas.db import db
from tenants.analytics.ranges import DateRange
from tenants.analytics.sale_orders import Sources, local_day, rolled_rows, sources
from tenants.analytics.sales_models import (
    SalesCollectionMember,
    SalesDayItem,
    SalesMonthItem,
)
from tenants.catalog.models import Product, ProductVariant
from tenants.collections.models import Collection, CollectionKind, CollectionProduct
from tenants.collections.services import products_query
from tenants.geo.addresses import country_name
from tenants.orders.models import PAYMENT_METHOD_LABELS, OrderLine

DIMENSIONS = ("product", "variant", "collection", "discount_code", "payment_method", "country")


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


def _text(value: str) -> Any:
    return cast(literal(value), Text)


def _no_id() -> Any:
    return cast(null(), Integer)


def _lines(orders: Any, zone: ZoneInfo) -> Any:
    return (
        select(
            local_day(orders.c.placed_at, zone).label("day"),
            OrderLine.order_id,
            OrderLine.product_id,
            OrderLine.variant_id,
            OrderLine.title,
            OrderLine.variant_title,
            OrderLine.quantity,
            _line_revenue.label("revenue"),
        )
        .select_from(orders)
        .join(OrderLine, OrderLine.order_id == orders.c.id)
        .subquery("lines")
    )


def _by_line(
    lines: Any, key: Any, *, ref_id: Any, product_id: Any, title: Any, subtitle: Any
) -> Any:
    return select(
        lines.c.day,
        key.label("key"),
        ref_id.label("ref_id"),
        product_id.label("product_id"),
        title.label("title"),
        subtitle.label("subtitle"),
        func.count(distinct(lines.c.order_id)).label("orders"),
        cast(_sum(lines.c.quantity), BigInteger).label("units"),
        cast(_sum(lines.c.revenue), BigInteger).label("revenue_cents"),
        cast(literal(0), BigInteger).label("discount_cents"),
    ).group_by(lines.c.day, key)


def _order_dimension(dimension: str, orders: Any) -> tuple[Any, Any]:
    """(the group's key, the condition an order must meet) of a breakdown by order."""
    if dimension == "discount_code":
        code = orders.c.discount_code
        return func.lower(code), func.coalesce(code, "") != ""
    if dimension == "payment_method":
        return func.coalesce(orders.c.payment_method, "none"), None
    country = func.upper(func.coalesce(orders.c.shipping_address["country"].astext, ""))
    return country, None


def item_rows(dimension: str, orders: Any, zone: ZoneInfo, members: Any = None) -> Any:
    """`orders` (counted, a `sale_orders` subquery) grouped by local day and `dimension`, with
    the columns of `SalesDayItem`. Collections need `members` (collection_id,
    product_id): the memberships to count with."""
    if dimension in ("product", "variant", "collection"):
        lines = _lines(orders, zone)
        if dimension == "product":
            # A deleted product's lines are grouped by their title, apart from any
            # product whose id is that text.
            gone = lines.c.product_id.is_(None)
            key = case((gone, "t:" + lines.c.title), else_="p:" + cast(lines.c.product_id, String))
            return _by_line(
                lines,
                key,
                ref_id=func.max(lines.c.product_id),
                product_id=_no_id(),
                title=func.max(lines.c.title),
                subtitle=_text(""),
            )
        if dimension == "variant":
            # A deleted variant's lines by both titles, length-prefixed so that no two
            # pairs of titles make the same key.
            gone = lines.c.variant_id.is_(None)
            named = func.concat(
                "g", func.length(lines.c.title), ":", lines.c.title, lines.c.variant_title
            )
            key = case((gone, named), else_="v:" + cast(lines.c.variant_id, String))
            return _by_line(
                lines,
                key,
                ref_id=func.max(lines.c.variant_id),
                product_id=func.max(lines.c.product_id),
                title=func.max(lines.c.title),
                subtitle=func.max(lines.c.variant_title),
            )
        joined = lines.join(members, members.c.product_id == lines.c.product_id)
        return _by_line(
            lines,
            cast(members.c.collection_id, String),
            ref_id=func.max(members.c.collection_id),
            product_id=_no_id(),
            title=_text(""),
            subtitle=_text(""),
        ).select_from(joined)
    key, condition = _order_dimension(dimension, orders)
    units = (
        select(func.sum(OrderLine.quantity))
        .where(OrderLine.order_id == orders.c.id)
        .correlate(orders)
        .scalar_subquery()
    )
    sale = select(
        local_day(orders.c.placed_at, zone).label("day"),
        key.label("key"),
        orders.c.total_cents,
        orders.c.discount_cents,
        orders.c.discount_code,
        func.coalesce(units, 0).label("units"),
    ).select_from(orders)
    if condition is not None:
        sale = sale.where(condition)
    sold = sale.subquery("sale")
    return select(
        sold.c.day,
        sold.c.key,
        _no_id().label("ref_id"),
        _no_id().label("product_id"),
        func.coalesce(func.max(sold.c.discount_code), "").label("title"),
        _text("").label("subtitle"),
        func.count().label("orders"),
        cast(_sum(sold.c.units), BigInteger).label("units"),
        cast(_sum(sold.c.total_cents), BigInteger).label("revenue_cents"),
        cast(_sum(sold.c.discount_cents), BigInteger).label("discount_cents"),
    ).group_by(sold.c.day, sold.c.key)


_ITEM_COLUMNS = (
    "key",
    "ref_id",
    "product_id",
    "title",
    "subtitle",
    "orders",
    "units",
    "revenue_cents",
    "discount_cents",
)


def _rolled(dimension: str, src: Sources, where: Any = None) -> Any:
    """The rolled-up rows of the range's clean days (by month where whole and clean).
    `where(table)`: a further condition."""

    def rows(table: Any, day: Any) -> Any:
        query = select(day, *(table.__table__.c[c] for c in _ITEM_COLUMNS))
        query = query.where(table.dimension == dimension)
        return query if where is None else query.where(where(table))

    return rolled_rows(src, SalesDayItem, SalesMonthItem, rows)


def _items(dimension: str, src: Sources) -> Any:
    """The range's rows of `dimension`: the clean days' from the rollup, the rest live."""
    live = item_rows(dimension, src.orders, src.zone)
    return union_all(_rolled(dimension, src), live).subquery("items")


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
    items = _items("product", sources(r, zone))
    sold = (
        select(
            func.max(items.c.ref_id).label("product_id"),
            func.max(items.c.title).label("title"),
            func.sum(items.c.orders).label("orders"),
            func.sum(items.c.units).label("units"),
            func.sum(items.c.revenue_cents).label("revenue"),
        )
        .group_by(items.c.key)
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
    items = _items("variant", sources(r, zone))
    sold = (
        select(
            func.max(items.c.ref_id).label("variant_id"),
            func.max(items.c.product_id).label("product_id"),
            func.max(items.c.title).label("title"),
            func.max(items.c.subtitle).label("variant_title"),
            func.sum(items.c.orders).label("orders"),
            func.sum(items.c.units).label("units"),
            func.sum(items.c.revenue_cents).label("revenue"),
        )
        .group_by(items.c.key)
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


def memberships() -> Any:
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


def changed_collections(members: Any) -> list[int]:
    """Collections whose members today differ from those their rolled-up rows counted
    (`SalesCollectionMember`): read live until the rollup catches up."""
    snapshot = select(SalesCollectionMember.collection_id, SalesCollectionMember.product_id)
    now = select(members.c.collection_id, members.c.product_id)
    differ = union_all(now.except_(snapshot), snapshot.except_(now)).subquery("differ")
    return list(db.session.scalars(select(differ.c.collection_id).distinct()))


def by_collection(r: DateRange, zone: ZoneInfo, limit: int | None = 10) -> list[Row]:
    """Collections by the sales of the products in them today (a product in two
    collections counts in both, an order once per collection). Manual collections by
    their list, automatic ones by their rules as they are now."""
    src = sources(r, zone)
    members = memberships()
    parts = []
    if src.rolled:
        changed = changed_collections(members)
        same = select(members).where(members.c.collection_id.not_in(changed)).subquery()
        parts += [
            _rolled("collection", src, lambda t: t.ref_id.not_in(changed)),
            item_rows("collection", src.orders, zone, same),
        ]
        if changed:
            other = select(members).where(members.c.collection_id.in_(changed)).subquery()
            parts.append(item_rows("collection", src.everything(), zone, other))
    else:
        parts.append(item_rows("collection", src.orders, zone, members))
    items = union_all(*parts).subquery("items")
    revenue = func.sum(items.c.revenue_cents)
    query = (
        select(
            cast(Collection.id, String),
            func.max(Collection.title),
            func.sum(items.c.orders),
            func.sum(items.c.units),
            revenue.label("revenue"),
        )
        .select_from(items)
        .join(Collection, Collection.id == items.c.ref_id)
        .group_by(Collection.id)
        .order_by(revenue.desc(), func.max(Collection.title), Collection.id)
        .limit(limit)
    )
    return _rows(db.session.execute(query).all())


def _by_order(r: DateRange, zone: ZoneInfo, dimension: str) -> Any:
    """Counted orders of the range grouped by `dimension`: key, orders, units, their
    totals, the discounts they were given, a code as typed; the biggest totals first."""
    items = _items(dimension, sources(r, zone))
    revenue, orders = func.sum(items.c.revenue_cents), func.sum(items.c.orders)
    return (
        select(
            items.c.key,
            orders,
            func.sum(items.c.units),
            revenue,
            func.sum(items.c.discount_cents),
            func.max(items.c.title),
        )
        .group_by(items.c.key)
        .order_by(revenue.desc(), orders.desc(), items.c.key)
    )


def by_discount_code(r: DateRange, zone: ZoneInfo, limit: int | None = 10) -> list[Row]:
    """Discount codes by the totals of the orders that used them; `discount_cents` is
    what those orders were given off. Codes are grouped whatever their case (key: the
    code in lower case; label: as it was typed on an order)."""
    query = _by_order(r, zone, "discount_code").limit(limit)
    return [
        Row(key, label, int(orders), int(units), int(revenue), int(discount))
        for key, orders, units, revenue, discount, label in db.session.execute(query).all()
    ]


def by_payment_method(r: DateRange, zone: ZoneInfo) -> list[Row]:
    """Payment methods by the totals of their orders ("none": nothing was due)."""
    query = _by_order(r, zone, "payment_method")
    return [
        Row(
            method,
            PAYMENT_METHOD_LABELS.get(method, "No payment" if method == "none" else method),
            int(orders),
            int(units),
            int(revenue),
        )
        for method, orders, units, revenue, _, _ in db.session.execute(query).all()
    ]


def by_country(r: DateRange, zone: ZoneInfo, limit: int | None = 10) -> list[Row]:
    """Countries the orders were shipped to, by the orders' totals (key: the ISO code,
    "" for orders without a shipping address)."""
    query = _by_order(r, zone, "country").limit(limit)
    return [
        Row(
            code,
            country_name(code) if code else "No shipping address",
            int(orders),
            int(units),
            int(revenue),
        )
        for code, orders, units, revenue, _, _ in db.session.execute(query).all()
    ]
