"""Catalog rules: products, their options and variants, the back office's product list.

A product always has at least one variant; one with no options has exactly one, the
default variant. `Product.price_cents` / `inventory_quantity` summarise the variants
(see `sync_summary`) so older readers and SQL filters keep working.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, any_, delete, func, literal, select

from saas.billing import limits
from saas.billing.limits import Limit, LimitProblem
from saas.db import db
from saas.money import ZERO_DECIMAL
from saas.tenancy import current_tenant
from tenants.catalog.models import (
    Product,
    ProductOption,
    ProductRedirect,
    ProductStatus,
    ProductVariant,
)

MAX_PRICE_CENTS = 100_000_000  # 1,000,000.00: far above any real price, inside the column
MAX_STOCK = 1_000_000_000
MAX_TITLE = 255
MAX_DESCRIPTION = 20_000
# What a merchant picks when adding a product (archiving comes with the catalog pages).
FORM_STATUSES = (ProductStatus.ACTIVE, ProductStatus.DRAFT)


class ProductError(ValueError):
    """Invalid product input; the message is meant for the merchant."""


def handleize(text: str) -> str:
    """A URL handle from a title: 'Blue T-Shirt!' -> 'blue-t-shirt'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:255]


def create_product(
    title: str,
    price_cents: int,
    *,
    handle: str | None = None,
    description: str = "",
    status: str = ProductStatus.ACTIVE,
    inventory_quantity: int | None = None,
) -> Product:
    """Add a product to the current shop's catalog. Flushes; the caller commits."""
    title = title.strip()
    if not title:
        raise ProductError("A product needs a title.")
    if not isinstance(price_cents, int) or price_cents < 0:
        raise ProductError("The price must be zero or more.")
    handle = handleize(handle or title)
    if not handle:
        raise ProductError("The handle must contain letters or digits.")
    if db.session.scalar(select(Product.id).where(Product.handle == handle)) is not None:
        raise ProductError(f"Another product already uses the handle “{handle}”.")
    if inventory_quantity is not None and inventory_quantity < 0:
        raise ProductError("Stock cannot be negative.")
    product = Product(
        title=title,
        handle=handle,
        description=clean_description(description),
        price_cents=price_cents,
        status=status,
        inventory_quantity=inventory_quantity,
    )
    product.variants.append(
        ProductVariant(
            position=1,
            price_cents=price_cents,
            inventory_tracked=inventory_quantity is not None,
            inventory_quantity=inventory_quantity or 0,
        )
    )
    db.session.add(product)
    db.session.flush()
    return product


def active_products(*, page: int = 1, per_page: int = 24) -> tuple[list[Product], int]:
    """One page of the products shoppers can see, newest first, and the total count."""
    page = max(page, 1)
    visible = Product.status == ProductStatus.ACTIVE
    rows = list(
        db.session.scalars(
            select(Product)
            .where(visible)
            .order_by(Product.created_at.desc(), Product.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    if page == 1 and len(rows) < per_page:  # the whole catalog fits: no count query
        return rows, len(rows)
    total = db.session.scalar(select(func.count()).select_from(Product).where(visible)) or 0
    return rows, total


def product_by_handle(handle: str) -> Product | None:
    return db.session.scalar(
        select(Product).where(Product.handle == handle, Product.status == ProductStatus.ACTIVE)
    )


def redirected_handle(old_handle: str) -> str | None:
    """The current handle of the active product that used to be at `old_handle`."""
    return db.session.scalar(
        select(Product.handle)
        .join(ProductRedirect, ProductRedirect.product_id == Product.id)
        .where(ProductRedirect.old_handle == old_handle, Product.status == ProductStatus.ACTIVE)
    )


# --- the back office's products pages ---------------------------------------------


class ProductFormInvalid(ProductError):
    """The product form has mistakes; `errors` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def parse_price(text: str, currency: str = "USD") -> int:
    """A price typed by a merchant ("12.50") in minor units (1250); ProductError if not."""
    text = (text or "").strip()
    if not text:
        raise ProductError("Enter a price.")
    if text.startswith("-"):
        raise ProductError("The price cannot be negative.")
    decimals = 0 if currency in ZERO_DECIMAL else 2
    pattern = r"[0-9]{1,9}" if decimals == 0 else r"[0-9]{1,9}(?:\.[0-9]{1,2})?"
    if not re.fullmatch(pattern, text):
        example = "1200" if decimals == 0 else "12.50"
        raise ProductError(f"Enter a price as a number, like {example}.")
    whole, _, fraction = text.partition(".")
    cents = int(whole) * 10**decimals + (int(fraction.ljust(decimals, "0")) if fraction else 0)
    if cents > MAX_PRICE_CENTS:
        raise ProductError("That price is too high.")
    return cents


def parse_stock(text: str) -> int | None:
    """Stock typed by a merchant: empty means "not tracked"; otherwise a whole number >= 0."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith("-"):
        raise ProductError("Stock cannot be negative.")
    if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > MAX_STOCK:
        raise ProductError("Enter stock as a whole number, like 12, or leave it empty.")
    return int(text)


def unique_handle(title: str) -> str:
    """A handle for `title` that no product uses yet: 'mug', then 'mug-2', 'mug-3'..."""
    base = handleize(title)[:240] or "product"
    taken = set(
        db.session.scalars(
            select(Product.handle).where(
                (Product.handle == base) | Product.handle.like(f"{base}-%")
            )
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def counted_products() -> int:
    """Products that count against the plan (`saas.billing.limits`): all but archived."""
    return (
        db.session.scalar(
            select(func.count(Product.id)).where(Product.status != ProductStatus.ARCHIVED)
        )
        or 0
    )


def products_page(page: int, per_page: int = 25) -> tuple[list[Product], int]:
    """One page of the whole catalog (every status), newest first, and the total count."""
    rows = list(
        db.session.scalars(
            select(Product)
            .order_by(Product.created_at.desc(), Product.id.desc())
            .limit(per_page)
            .offset((max(page, 1) - 1) * per_page)
        )
    )
    total = db.session.scalar(select(func.count()).select_from(Product)) or 0
    return rows, total


def product_limit_problem(tenant_id: int, *, lock: bool = False) -> str | None:
    """Why the shop cannot add another product under its plan; None if it can.

    With `lock`, the shop's subscription row is locked until the transaction ends, so two
    products added at once cannot both squeeze under the limit (see saas.billing.limits,
    which counts: archived products do not).
    """
    problem = limits.limit_problem(tenant_id, Limit.PRODUCTS, lock=lock)
    return str(problem) if problem else None


class ProductLimitReached(ProductError):
    """The plan has no room for the products this would add (or bring back)."""

    def __init__(self, problem: LimitProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _room_for(adding: int) -> None:
    """Raise ProductLimitReached unless the plan has room for `adding` more products;
    locks the shop's subscription row until the transaction ends."""
    problem = limits.limit_problem(current_tenant.id, Limit.PRODUCTS, adding, lock=True)
    if problem is not None:
        raise ProductLimitReached(problem)


def add_product(form: Mapping[str, str], *, tenant_id: int, currency: str) -> Product:
    """Validate the "add product" form and create the product. Flushes; the caller commits.

    Raises:
        ProductFormInvalid: with a message per wrong field (or under "form" for the plan
            limit); nothing has been added.
    """
    errors: dict[str, str] = {}
    title = (form.get("title") or "").strip()
    if not title:
        errors["title"] = "A product needs a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Use at most {MAX_TITLE} characters."
    description = (form.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = f"Use at most {MAX_DESCRIPTION:,} characters."
    price = stock = None
    try:
        price = parse_price(form.get("price", ""), currency)
    except ProductError as error:
        errors["price"] = str(error)
    try:
        stock = parse_stock(form.get("stock", ""))
    except ProductError as error:
        errors["stock"] = str(error)
    status = form.get("status") or ""
    if status not in FORM_STATUSES:
        errors["status"] = "Choose active or draft."
    if errors:
        raise ProductFormInvalid(errors)
    problem = limits.limit_problem(tenant_id, Limit.PRODUCTS, lock=True)
    if problem:
        raise ProductFormInvalid({"form": problem.html()})
    assert price is not None
    return create_product(
        title,
        price,
        handle=unique_handle(title),
        description=description,
        status=status,
        inventory_quantity=stock,
    )


# --- product details --------------------------------------------------------------

MAX_TAGS = 50
MAX_TAG = 255
MAX_SEO_TITLE = 255
MAX_SEO_DESCRIPTION = 500
MAX_OPTIONS = 3
MAX_OPTION_VALUES = 100
MAX_VARIANTS = 100
MAX_WEIGHT_GRAMS = 1_000_000_000
EDIT_STATUSES = (ProductStatus.ACTIVE, ProductStatus.DRAFT, ProductStatus.ARCHIVED)


def clean_description(html: str) -> str:
    """Merchant rich text reduced to the shop's allow-list (`rich_text`)."""
    from tenants.content.rich_text import clean_html

    return clean_html(html)


def parse_tags(text: str) -> list[str]:
    """'Summer, sale ,SALE' -> ['summer', 'sale']: lowercase, trimmed, no repeats, in order."""
    tags: list[str] = []
    for part in (text or "").split(","):
        tag = " ".join(part.split()).lower()
        if tag and tag not in tags:
            if len(tag) > MAX_TAG:
                raise ProductError(f"Keep each tag under {MAX_TAG} characters.")
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ProductError(f"Use at most {MAX_TAGS} tags.")
    return tags


def product_form_values(product: Product) -> dict[str, str]:
    """The edit form's fields as the merchant last saved them."""
    return {
        "title": product.title,
        "handle": product.handle,
        "description": product.description,
        "status": product.status,
        "vendor": product.vendor,
        "product_type": product.product_type,
        "tags": ", ".join(product.tags or []),
        "seo_title": product.seo_title,
        "seo_description": product.seo_description,
        "continue_selling": "1" if product.continue_selling else "",
    }


def _text(form: Mapping[str, str], name: str, limit: int, errors: dict[str, str]) -> str:
    value = " ".join((form.get(name) or "").split())
    if len(value) > limit:
        errors[name] = f"Use at most {limit} characters."
    return value


def update_product(product: Product, form: Mapping[str, str]) -> list[str]:
    """Apply the product edit form. Flushes; the caller commits. Returns changed field names.

    Raises:
        ProductFormInvalid: a message per wrong field (under "form": the plan has no room
            to bring an archived product back); the product is left untouched.
    """
    errors: dict[str, str] = {}
    title = _text(form, "title", MAX_TITLE, errors)
    if not title and "title" not in errors:
        errors["title"] = "A product needs a title."
    raw_description = form.get("description") or ""
    if len(raw_description) > MAX_DESCRIPTION:
        errors["description"] = f"Use at most {MAX_DESCRIPTION:,} characters."
    status = form.get("status") or ""
    if status not in EDIT_STATUSES:
        errors["status"] = "Choose active, draft or archived."
    vendor = _text(form, "vendor", 255, errors)
    product_type = _text(form, "product_type", 255, errors)
    seo_title = _text(form, "seo_title", MAX_SEO_TITLE, errors)
    seo_description = _text(form, "seo_description", MAX_SEO_DESCRIPTION, errors)
    tags: list[str] = []
    try:
        tags = parse_tags(form.get("tags", ""))
    except ProductError as error:
        errors["tags"] = str(error)
    typed_handle = (form.get("handle") or "").strip()
    handle = handleize(typed_handle)
    if not handle:
        errors["handle"] = "The handle must contain letters or digits, like blue-mug."
    elif handle != product.handle:
        taken = db.session.scalar(
            select(Product.id).where(Product.handle == handle, Product.id != product.id)
        )
        if taken is not None:
            errors["handle"] = f"Another product already uses the handle “{handle}”."
    if errors:
        raise ProductFormInvalid(errors)
    if product.status == ProductStatus.ARCHIVED and status != ProductStatus.ARCHIVED:
        try:  # back in the catalog: it counts against the plan again
            _room_for(1)
        except ProductLimitReached as full:
            raise ProductFormInvalid(
                {"form": full.problem.html(), "status": "Keep it archived, or make room first."}
            ) from None

    new = {
        "title": title,
        "description": clean_description(raw_description),
        "status": status,
        "vendor": vendor,
        "product_type": product_type,
        "tags": tags,
        "seo_title": seo_title,
        "seo_description": seo_description,
        "continue_selling": bool(form.get("continue_selling")),
    }
    changed = [name for name, value in new.items() if getattr(product, name) != value]
    if handle != product.handle:
        _record_redirect(product, product.handle, handle)
        changed.append("handle")
        product.handle = handle
    for name, value in new.items():
        setattr(product, name, value)
    db.session.flush()
    return changed


def _record_redirect(product: Product, old: str, new: str) -> None:
    # The new handle may be one this product (or another) once had: it is live again.
    db.session.execute(delete(ProductRedirect).where(ProductRedirect.old_handle == new))
    existing = db.session.scalar(select(ProductRedirect).where(ProductRedirect.old_handle == old))
    if existing is not None:
        existing.product_id = product.id
    else:
        db.session.add(ProductRedirect(old_handle=old, product_id=product.id))


# --- options and variants ---------------------------------------------------------


def ensure_default_variant(product: Product) -> bool:
    """Products made before variants existed (or written directly) get their variant.

    Returns whether one was added (flushed; the caller commits)."""
    if product.variants:
        return False
    product.variants.append(
        ProductVariant(
            position=1,
            price_cents=product.price_cents,
            inventory_tracked=product.inventory_quantity is not None,
            inventory_quantity=product.inventory_quantity or 0,
        )
    )
    db.session.flush()
    return True


def sync_summary(product: Product) -> None:
    """Copy the variants' lowest price and total tracked stock onto the product."""
    variants = product.variants
    if not variants:
        return
    product.price_cents = min(v.price_cents for v in variants)
    tracked = [v.inventory_quantity for v in variants if v.inventory_tracked]
    product.inventory_quantity = sum(tracked) if tracked else None


def option_form_values(product: Product) -> dict[str, str]:
    values: dict[str, str] = {}
    for option in product.options:
        values[f"option{option.position}_name"] = option.name
        values[f"option{option.position}_values"] = ", ".join(option.values)
    return values


def save_options(product: Product, form: Mapping[str, str]) -> None:
    """Replace the product's options and rebuild its variants to match. Flushes.

    Variants whose combination of values survives keep their price, SKU and stock; new
    combinations start as copies of the first variant (without its SKU or stock).
    """
    import itertools

    errors: dict[str, str] = {}
    parsed: list[tuple[str, list[str]]] = []
    for n in range(1, MAX_OPTIONS + 1):
        name = " ".join((form.get(f"option{n}_name") or "").split())
        values: list[str] = []
        for part in (form.get(f"option{n}_values") or "").split(","):
            value = " ".join(part.split())
            if value and value not in values:
                values.append(value)
        if not name and not values:
            continue
        if not name:
            errors[f"option{n}_name"] = "Name this option, like Size."
        elif len(name) > 255:
            errors[f"option{n}_name"] = "Use at most 255 characters."
        elif name.lower() in [p[0].lower() for p in parsed]:
            errors[f"option{n}_name"] = "Two options cannot have the same name."
        if not values:
            errors[f"option{n}_values"] = "List its values, separated by commas, like S, M, L."
        elif len(values) > MAX_OPTION_VALUES or any(len(v) > 255 for v in values):
            errors[f"option{n}_values"] = f"Use at most {MAX_OPTION_VALUES} short values."
        parsed.append((name, values))
    combinations = list(itertools.product(*[values for _, values in parsed])) if parsed else [()]
    if not errors and len(combinations) > MAX_VARIANTS:
        errors["form"] = (
            f"These options make {len(combinations)} variants; a product can have at most "
            f"{MAX_VARIANTS}."
        )
    if errors:
        raise ProductFormInvalid(errors)

    ensure_default_variant(product)
    template = product.variants[0]
    existing = {(v.option1, v.option2, v.option3): v for v in product.variants}
    keep: list[ProductVariant] = []
    for position, combo in enumerate(combinations, 1):
        key = tuple(list(combo) + [None] * (3 - len(combo)))
        variant = existing.pop(key, None)  # type: ignore[arg-type]
        reusable = template not in keep and (
            not parsed or (template.option1, template.option2, template.option3) == (None,) * 3
        )
        if variant is None and reusable:
            # To or from no options: the first variant lives on (its SKU, stock, history).
            variant = template
            existing = {k: v for k, v in existing.items() if v is not template}
        if variant is None:
            variant = ProductVariant(
                price_cents=template.price_cents,
                compare_at_cents=template.compare_at_cents,
                weight_grams=template.weight_grams,
                inventory_tracked=template.inventory_tracked,
                inventory_quantity=0,
            )
        variant.option1, variant.option2, variant.option3 = key
        variant.position = position
        keep.append(variant)
    product.variants = keep
    # Update option rows in place: the unit of work inserts before it deletes, so
    # replacing them would briefly hold two rows at one position.
    options = {option.position: option for option in product.options}
    kept_options: list[ProductOption] = []
    for n, (name, values) in enumerate(parsed, 1):
        option = options.get(n) or ProductOption(position=n)
        option.name, option.values = name, values
        kept_options.append(option)
    product.options = kept_options
    db.session.flush()
    sync_summary(product)
    db.session.flush()


def variant_form_values(product: Product, currency: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for v in product.variants:
        p = f"v{v.id}_"
        values[p + "sku"] = v.sku or ""
        values[p + "price"] = format_amount(v.price_cents, currency)
        values[p + "compare_at"] = (
            "" if v.compare_at_cents is None else format_amount(v.compare_at_cents, currency)
        )
        values[p + "weight"] = "" if v.weight_grams is None else str(v.weight_grams)
        values[p + "barcode"] = v.barcode or ""
        values[p + "tracked"] = "1" if v.inventory_tracked else ""
        values[p + "quantity"] = str(v.inventory_quantity)
        values[p + "image"] = "" if v.image_id is None else str(v.image_id)
    return values


def format_amount(cents: int, currency: str) -> str:
    """Minor units as the merchant types them: 1250 -> '12.50' (no symbol, no grouping)."""
    if currency in ZERO_DECIMAL:
        return str(cents)
    return f"{cents // 100}.{cents % 100:02d}"


def parse_optional_price(text: str, currency: str) -> int | None:
    return None if not (text or "").strip() else parse_price(text, currency)


def parse_weight(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith("-"):
        raise ProductError("Weight cannot be negative.")
    if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > MAX_WEIGHT_GRAMS:
        raise ProductError("Enter the weight in whole grams, like 350.")
    return int(text)


def save_variants(
    product: Product, form: Mapping[str, str], currency: str
) -> list[tuple[ProductVariant, int]]:
    """Apply the variants table. Flushes; the caller commits.

    Returns (variant, new quantity) for each tracked variant whose stock was typed
    differently, so the caller records those as inventory corrections.

    Raises:
        ProductFormInvalid: keyed `v<id>_<field>`; nothing has changed.
    """
    errors: dict[str, str] = {}
    image_ids = {image.id for image in product.images}
    planned: list[tuple[ProductVariant, dict[str, object]]] = []
    skus: dict[str, int] = {}
    for v in product.variants:
        p = f"v{v.id}_"
        row: dict[str, object] = {}
        sku = (form.get(p + "sku") or "").strip() or None
        if sku and len(sku) > 255:
            errors[p + "sku"] = "Use at most 255 characters."
        elif sku:
            if sku in skus:
                errors[p + "sku"] = f"Two variants cannot share the SKU “{sku}”."
            skus[sku] = v.id
        row["sku"] = sku
        try:
            row["price_cents"] = parse_price(form.get(p + "price", ""), currency)
        except ProductError as error:
            errors[p + "price"] = str(error)
        try:
            compare_at = parse_optional_price(form.get(p + "compare_at", ""), currency)
            price = row.get("price_cents")
            if compare_at is not None and isinstance(price, int) and compare_at < price:
                errors[p + "compare_at"] = "The compare-at price must be at least the price."
            row["compare_at_cents"] = compare_at
        except ProductError as error:
            errors[p + "compare_at"] = str(error).replace("price", "compare-at price", 1)
        try:
            row["weight_grams"] = parse_weight(form.get(p + "weight", ""))
        except ProductError as error:
            errors[p + "weight"] = str(error)
        barcode = (form.get(p + "barcode") or "").strip() or None
        if barcode and len(barcode) > 64:
            errors[p + "barcode"] = "Use at most 64 characters."
        row["barcode"] = barcode
        row["inventory_tracked"] = bool(form.get(p + "tracked"))
        try:
            quantity = (
                parse_stock(form.get(p + "quantity", "")) if row["inventory_tracked"] else None
            )
            row["quantity"] = v.inventory_quantity if quantity is None else quantity
        except ProductError as error:
            errors[p + "quantity"] = str(error)
        image = (form.get(p + "image") or "").strip()
        if image and (not image.isdigit() or int(image) not in image_ids):
            errors[p + "image"] = "Choose an image of this product."
        row["image_id"] = int(image) if image and image.isdigit() else None
        planned.append((v, row))
    if skus:
        own = {v.id for v in product.variants}
        clash = db.session.execute(
            select(ProductVariant.sku, ProductVariant.id).where(ProductVariant.sku.in_(skus))
        ).all()
        for sku, variant_id in clash:
            # Within this product SKUs may move between rows; elsewhere they are taken.
            if variant_id not in own and sku is not None:
                errors[f"v{skus[sku]}_sku"] = f"Another product already uses the SKU “{sku}”."
    if errors:
        raise ProductFormInvalid(errors)

    stock_changes: list[tuple[ProductVariant, int]] = []
    # SKUs may swap between rows; clear them first so the unique index never sees a clash.
    for v, _ in planned:
        v.sku = None
    db.session.flush()
    for v, row in planned:
        quantity = int(row.pop("quantity"))  # type: ignore[call-overload]
        for name, value in row.items():
            setattr(v, name, value)
        if v.inventory_tracked and quantity != v.inventory_quantity:
            stock_changes.append((v, quantity))
    sync_summary(product)
    db.session.flush()
    return stock_changes


# --- the back office's product list -----------------------------------------------

LIST_SORTS: dict[str, tuple[Any, ...]] = {
    "newest": (Product.created_at.desc(), Product.id.desc()),
    "oldest": (Product.created_at.asc(), Product.id.asc()),
    "title": (Product.title.asc(), Product.id.asc()),
    "price-asc": (Product.price_cents.asc(), Product.id.asc()),
    "price-desc": (Product.price_cents.desc(), Product.id.desc()),
}


def products_query(
    *,
    q: str = "",
    status: str = "",
    vendor: str = "",
    product_type: str = "",
    tag: str = "",
    sort: str = "newest",
) -> Select:
    """The back office's product search: title or SKU, filters, a sort."""
    query = select(Product)
    q = q.strip()
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sku_match = select(ProductVariant.product_id).where(ProductVariant.sku.ilike(pattern))
        query = query.where(Product.title.ilike(pattern) | Product.id.in_(sku_match))
    if status in EDIT_STATUSES:
        query = query.where(Product.status == status)
    if vendor:
        query = query.where(Product.vendor == vendor)
    if product_type:
        query = query.where(Product.product_type == product_type)
    if tag:
        query = query.where(literal(tag.strip().lower()) == any_(Product.tags))
    return query.order_by(*LIST_SORTS.get(sort, LIST_SORTS["newest"]))


def facet_values() -> dict[str, list[str]]:
    """The vendors, types and tags in use, for the list's filter menus."""
    vendors = db.session.scalars(
        select(Product.vendor).where(Product.vendor != "").distinct().order_by(Product.vendor)
    ).all()
    types = db.session.scalars(
        select(Product.product_type)
        .where(Product.product_type != "")
        .distinct()
        .order_by(Product.product_type)
    ).all()
    tag = func.unnest(Product.tags).label("tag")
    tags = db.session.scalars(select(tag).distinct().order_by(tag)).all()
    return {"vendors": list(vendors), "types": list(types), "tags": list(tags)}


BULK_ACTIONS = ("publish", "archive", "draft", "add-tag")


def bulk_update(ids: list[int], action: str, tag: str = "") -> list[Product]:
    """Apply a bulk action to these products of the current shop. Flushes.

    Raises:
        ProductLimitReached: publishing or drafting archived products would take the
            catalog over the plan's limit; nothing changed.
    """
    if action not in BULK_ACTIONS:
        raise ProductError("Choose an action.")
    products = list(db.session.scalars(select(Product).where(Product.id.in_(ids))))
    if not products:
        raise ProductError("Select at least one product.")
    if action == "add-tag":
        tags = parse_tags(tag)
        if not tags:
            raise ProductError("Type the tag to add.")
        for product in products:
            product.tags = list(dict.fromkeys([*(product.tags or []), *tags]))
    else:
        status = {
            "publish": ProductStatus.ACTIVE,
            "archive": ProductStatus.ARCHIVED,
            "draft": ProductStatus.DRAFT,
        }[action]
        returning = sum(1 for p in products if p.status == ProductStatus.ARCHIVED)
        if status != ProductStatus.ARCHIVED and returning:
            _room_for(returning)  # archived products coming back count against the plan
        for product in products:
            product.status = status
    db.session.flush()
    return products
