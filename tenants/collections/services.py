"""Collections: a hand-ordered list of products, or every product matching rules.

`collection_products()` is what the storefront lists; it only ever returns active
products, in the collection's own sort unless the shopper picks another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, and_, any_, delete, exists, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from saas.db import db
from tenants.catalog.models import Product, ProductOption, ProductStatus, ProductVariant
from tenants.catalog.products import (
    MAX_TITLE,
    ProductError,
    ProductFormInvalid,
    clean_description,
    format_amount,
    handleize,
    parse_optional_price,
)
from tenants.collections.models import Collection, CollectionKind, CollectionProduct, CollectionSort
from tenants.positions import move_one, renumber

MAX_RULES = 5
RULE_FIELDS = {
    "tag": "Tag is",
    "product_type": "Product type is",
    "vendor": "Vendor is",
    "price": "Price is between",
}
SORTS = {
    CollectionSort.MANUAL: "In the order you set",
    CollectionSort.TITLE: "Title, A to Z",
    CollectionSort.PRICE_ASC: "Price, low to high",
    CollectionSort.PRICE_DESC: "Price, high to low",
    CollectionSort.NEWEST: "Newest first",
    CollectionSort.BEST_SELLING: "Best selling",
    CollectionSort.POPULAR: "Most popular",
    CollectionSort.RATING: "Highest rated",
}


# `/collections/all`: every active product, as shoppers and themes expect of a shop,
# unless the merchant made a collection with that handle (theirs is shown instead).
ALL_HANDLE = "all"
ALL_TITLE = "All products"


def all_products() -> Collection:
    """The collection of every active product: never saved (it has no id), so it
    needs no upkeep and cannot be edited or deleted."""
    return Collection(
        handle=ALL_HANDLE,
        title=ALL_TITLE,
        description="",
        kind=CollectionKind.AUTOMATIC,
        match_all=True,
        rules=[],
        sort=CollectionSort.NEWEST,
    )


def is_all_products(collection: Collection) -> bool:
    return collection.id is None and collection.handle == ALL_HANDLE


def collection_by_handle(handle: str) -> Collection | None:
    """The collection shoppers reach at `/collections/<handle>` (`all`: every product)."""
    found = db.session.scalar(select(Collection).where(Collection.handle == handle))
    if found is None and handle == ALL_HANDLE:
        return all_products()
    return found


def listed_collections(limit: int) -> list[Collection]:
    """The shop's collections for a storefront list (the home page's), by title."""
    query = select(Collection).order_by(Collection.title, Collection.id).limit(limit)
    return list(db.session.scalars(query))


def form_values(collection: Collection | None, currency: str) -> dict[str, str]:
    if collection is None:
        return {"kind": CollectionKind.MANUAL, "sort": CollectionSort.MANUAL, "match": "all"}
    values = {
        "title": collection.title,
        "handle": collection.handle,
        "description": collection.description,
        "kind": collection.kind,
        "sort": collection.sort,
        "match": "all" if collection.match_all else "any",
    }
    for n, rule in enumerate(collection.rules or [], 1):
        values[f"rule{n}_field"] = rule["field"]
        if rule["field"] == "price":
            for end in ("min", "max"):
                if rule.get(end) is not None:
                    values[f"rule{n}_{end}"] = format_amount(rule[end], currency)
        else:
            values[f"rule{n}_value"] = rule.get("value", "")
    return values


def _parse_rules(form: Mapping[str, str], currency: str, errors: dict[str, str]) -> list[dict]:
    rules: list[dict[str, Any]] = []
    for n in range(1, MAX_RULES + 1):
        field = form.get(f"rule{n}_field") or ""
        if not field:
            continue
        if field not in RULE_FIELDS:
            errors[f"rule{n}_field"] = "Choose what to match."
            continue
        if field == "price":
            ends: dict[str, int | None] = {}
            for end in ("min", "max"):
                try:
                    ends[end] = parse_optional_price(form.get(f"rule{n}_{end}", ""), currency)
                except ProductError as error:
                    errors[f"rule{n}_{end}"] = str(error)
            typed_ok = f"rule{n}_min" not in errors and f"rule{n}_max" not in errors
            if ends.get("min") is None and ends.get("max") is None and typed_ok:
                errors[f"rule{n}_min"] = "Enter a lowest price, a highest price, or both."
            elif (
                ends.get("min") is not None
                and ends.get("max") is not None
                and ends["min"] > ends["max"]  # type: ignore[operator]
            ):
                errors[f"rule{n}_max"] = "The highest price must be at least the lowest."
            rules.append({"field": "price", "min": ends.get("min"), "max": ends.get("max")})
        else:
            value = " ".join((form.get(f"rule{n}_value") or "").split())
            if field == "tag":
                value = value.lower()
            if not value:
                errors[f"rule{n}_value"] = "Enter the value to match."
            elif len(value) > 255:
                errors[f"rule{n}_value"] = "Use at most 255 characters."
            rules.append({"field": field, "value": value})
    return rules


def save_collection(
    collection: Collection | None, form: Mapping[str, str], currency: str
) -> Collection:
    """Create (collection None) or update a collection from the form. Flushes.

    Raises:
        ProductFormInvalid: a message per wrong field; nothing has changed.
    """
    errors: dict[str, str] = {}
    title = " ".join((form.get("title") or "").split())
    if not title:
        errors["title"] = "A collection needs a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Use at most {MAX_TITLE} characters."
    handle = handleize(form.get("handle") or title)
    if not handle and "title" not in errors:
        errors["handle"] = "The handle must contain letters or digits, like summer-sale."
    elif handle:
        same = select(Collection.id).where(Collection.handle == handle)
        if collection is not None:
            same = same.where(Collection.id != collection.id)
        taken = db.session.scalar(same)
        if taken is not None:
            errors["handle"] = f"Another collection already uses the handle “{handle}”."
    kind = form.get("kind") or ""
    if kind not in tuple(CollectionKind):
        errors["kind"] = "Choose manual or automatic."
    sort = form.get("sort") or ""
    if sort not in SORTS:
        errors["sort"] = "Choose an order."
    description = form.get("description") or ""
    if len(description) > 20_000:
        errors["description"] = "Use at most 20,000 characters."
    rules = _parse_rules(form, currency, errors) if kind == CollectionKind.AUTOMATIC else []
    if kind == CollectionKind.AUTOMATIC and not rules and "rule1_field" not in errors:
        errors["rule1_field"] = "An automatic collection needs at least one rule."
    if errors:
        raise ProductFormInvalid(errors)
    if collection is None:
        collection = Collection()
        db.session.add(collection)
    collection.title = title
    collection.handle = handle
    collection.description = clean_description(description)
    collection.kind = kind
    collection.sort = sort
    collection.match_all = form.get("match", "all") != "any"
    collection.rules = rules
    if kind == CollectionKind.AUTOMATIC:
        db.session.flush()
        db.session.execute(
            delete(CollectionProduct).where(CollectionProduct.collection_id == collection.id)
        )
    db.session.flush()
    return collection


def _rule_condition(rule: Mapping[str, Any]) -> ColumnElement[bool]:
    field = rule.get("field")
    if field == "tag":
        return literal(str(rule.get("value", ""))) == any_(Product.tags)
    if field == "product_type":
        return func.lower(Product.product_type) == str(rule.get("value", "")).lower()
    if field == "vendor":
        return func.lower(Product.vendor) == str(rule.get("value", "")).lower()
    if field == "price":
        parts = []
        if rule.get("min") is not None:
            parts.append(Product.price_cents >= int(rule["min"]))
        if rule.get("max") is not None:
            parts.append(Product.price_cents <= int(rule["max"]))
        return and_(*parts) if parts else literal(True)
    return literal(False)  # an unknown rule matches nothing rather than everything


def available_condition() -> ColumnElement[bool]:
    """Can be bought now: as `storefront.stock_of` says of a variant, for any variant
    (untracked, in stock, or the product keeps selling when out of stock)."""
    has_variants = exists().where(ProductVariant.product_id == Product.id)
    variant_available = exists().where(
        ProductVariant.product_id == Product.id,
        or_(ProductVariant.inventory_tracked.is_(False), ProductVariant.inventory_quantity > 0),
    )
    summary_available = or_(Product.inventory_quantity.is_(None), Product.inventory_quantity > 0)
    return or_(
        Product.continue_selling.is_(True),
        variant_available,
        and_(~has_variants, summary_available),
    )


def _option_condition(name: str, value: str) -> ColumnElement[bool]:
    """The product comes in `value` of its option called `name` (any case)."""
    return exists().where(
        ProductOption.product_id == Product.id,
        func.lower(ProductOption.name) == name.lower(),
        literal(value) == any_(ProductOption.values),
    )


def _ordering(collection: Collection, sort: str) -> list[Any]:
    if sort == CollectionSort.TITLE:
        return [Product.title.asc(), Product.id.asc()]
    if sort == CollectionSort.PRICE_ASC:
        return [Product.price_cents.asc(), Product.id.asc()]
    if sort == CollectionSort.PRICE_DESC:
        return [Product.price_cents.desc(), Product.id.desc()]
    if sort == CollectionSort.BEST_SELLING:
        return [Product.units_sold.desc(), Product.created_at.desc(), Product.id.desc()]
    if sort == CollectionSort.POPULAR:
        return [Product.recent_views.desc(), Product.units_sold.desc(), Product.id.desc()]
    if sort == CollectionSort.RATING:
        # The product's published rating summary (`tenants.reviews`): no join, no
        # aggregate; among equal averages the more reviewed first.
        return [Product.rating_average.desc(), Product.rating_count.desc(), Product.id.desc()]
    if sort == CollectionSort.MANUAL and collection.kind == CollectionKind.MANUAL:
        return [CollectionProduct.position.asc(), Product.id.asc()]
    return [Product.created_at.desc(), Product.id.desc()]


def products_query(
    collection: Collection,
    sort: str | None = None,
    filters: Mapping[str, Any] | None = None,
    *,
    active_only: bool = True,
) -> Select:
    """The products of a collection as a query, sorted (its own sort by default)."""
    sort = sort if sort in SORTS else collection.sort
    query = select(Product)
    if is_all_products(collection):
        pass  # every product: no membership to check
    elif collection.kind == CollectionKind.MANUAL:
        query = query.join(CollectionProduct, CollectionProduct.product_id == Product.id).where(
            CollectionProduct.collection_id == collection.id
        )
    else:
        conditions = [_rule_condition(rule) for rule in collection.rules or []]
        if not conditions:
            query = query.where(literal(False))
        else:
            query = query.where(and_(*conditions) if collection.match_all else or_(*conditions))
    if active_only:
        query = query.where(Product.status == ProductStatus.ACTIVE)
    for key, value in (filters or {}).items():
        if value in (None, ""):
            continue
        if key in ("tag", "product_type", "vendor"):
            query = query.where(_rule_condition({"field": key, "value": value}))
        elif key == "min_price":
            query = query.where(Product.price_cents >= int(value))
        elif key == "max_price":
            query = query.where(Product.price_cents <= int(value))
        elif key == "available":
            wanted = available_condition()
            query = query.where(wanted if value == "in" else ~wanted)
        elif key == "options":
            for name, chosen in dict(value).items():
                query = query.where(_option_condition(name, chosen))
    return query.order_by(*_ordering(collection, sort))


MAX_FACET_VALUES = 50
MAX_FACET_OPTIONS = 5


def facets(collection: Collection) -> dict[str, Any]:
    """What shoppers can filter this collection by: its active products' tags and option
    values (option names grouped case-insensitively, in the order products list them)."""
    members = products_query(collection).order_by(None).with_only_columns(Product.id)
    ids = members.scalar_subquery()
    tags = db.session.scalars(
        select(func.unnest(Product.tags).label("tag"))
        .where(Product.id.in_(ids))
        .distinct()
        .order_by("tag")
        .limit(MAX_FACET_VALUES)
    ).all()
    options: dict[str, dict[str, Any]] = {}
    rows = db.session.execute(
        select(ProductOption.name, ProductOption.values)
        .where(ProductOption.product_id.in_(ids))
        .order_by(ProductOption.position, ProductOption.product_id)
    )
    for name, values in rows:
        key = name.strip().lower()
        if not key:
            continue
        if key not in options:
            if len(options) >= MAX_FACET_OPTIONS:
                continue
            options[key] = {"key": key, "name": name.strip(), "values": []}
        seen = options[key]["values"]
        for value in values or []:
            if value not in seen and len(seen) < MAX_FACET_VALUES:
                seen.append(value)
    return {"tags": list(tags), "options": list(options.values())}


def collection_products(
    collection: Collection,
    page: int = 1,
    sort: str | None = None,
    filters: Mapping[str, Any] | None = None,
    *,
    per_page: int = 24,
) -> tuple[list[Product], int]:
    """One page of a collection's active products, and how many there are in all.

    `filters`: optional tag, product_type, vendor (exact), min_price / max_price (cents),
    available ("in" or "out"), options ({option name: value}).
    """
    query = products_query(collection, sort, filters)
    page = max(page, 1)
    rows = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    if page == 1 and len(rows) < per_page:
        return rows, len(rows)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return rows, total or 0


# --- manual collections: the hand-made list ---------------------------------------


def add_product(collection: Collection, product_id: int) -> Product:
    if collection.kind != CollectionKind.MANUAL:
        raise ProductError("Products join an automatic collection by its rules.")
    product = db.session.get(Product, product_id)
    if product is None:
        raise ProductError("Choose a product to add.")
    exists = db.session.get(CollectionProduct, (collection.id, product.id))
    if exists is not None:
        raise ProductError(f"“{product.title}” is already in this collection.")
    last = db.session.scalar(
        select(func.max(CollectionProduct.position)).where(
            CollectionProduct.collection_id == collection.id
        )
    )
    db.session.add(
        CollectionProduct(
            collection_id=collection.id, product_id=product.id, position=(last or 0) + 1
        )
    )
    db.session.flush()
    return product


def _members(collection: Collection) -> list[CollectionProduct]:
    return list(
        db.session.scalars(
            select(CollectionProduct)
            .where(CollectionProduct.collection_id == collection.id)
            .order_by(CollectionProduct.position, CollectionProduct.product_id)
        )
    )


def remove_product(collection: Collection, product_id: int) -> None:
    db.session.execute(
        delete(CollectionProduct).where(
            CollectionProduct.collection_id == collection.id,
            CollectionProduct.product_id == product_id,
        )
    )
    renumber(_members(collection))
    db.session.flush()


def move_product(collection: Collection, product_id: int, step: int) -> None:
    members = _members(collection)
    index = next((i for i, m in enumerate(members) if m.product_id == product_id), None)
    if index is None:
        raise ProductError("That product is not in this collection.")
    move_one(members, index, step)
    renumber(members)
    db.session.flush()
