"""Catalog rules for products: adding and editing them, their handles and redirects, the
plan's product limit, the back office's product search, and the field parsing and limits
the rest of the catalog (variants, the CSV import) shares.

A product always has at least one variant; one with no options has exactly one, the
default variant. `Product.price_cents` / `inventory_quantity` summarise the variants
(see `sync_summary`) so older readers and SQL filters keep working.

Beside it: `variants.py` (options and variants), `published.py` (the products shoppers
see) and `product_list.py` (the back office's list: filter menus, bulk actions).
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
from saas.money import MoneyError, amount_example, parse_money
from saas.money import file_amount as file_amount  # how exports (CSV) write amounts
from saas.money import format_amount as money_amount
from saas.tenancy import current_tenant
from tenants.accounts.problems import FormInvalid
from tenants.catalog.models import Product, ProductRedirect, ProductStatus, ProductVariant
from tenants.content.rich_text import clean_html

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


def sync_summary(product: Product) -> None:
    """Copy the variants' lowest price and total tracked stock onto the product."""
    variants = product.variants
    if not variants:
        return
    product.price_cents = min(v.price_cents for v in variants)
    tracked = [v.inventory_quantity for v in variants if v.inventory_tracked]
    product.inventory_quantity = sum(tracked) if tracked else None


# --- the back office's products pages ---------------------------------------------


class ProductFormInvalid(FormInvalid, ProductError):
    """The product form has mistakes; `errors` maps field names to messages."""


def shop_locale() -> str:
    """The locale the current shop's merchant types amounts in (from its country)."""
    # Imported here: the settings' services reach the catalog (the setup checklist).
    from tenants.settings.services import get_settings

    return get_settings().locale


def parse_price(
    text: str,
    currency: str = "USD",
    locale: str | None = None,
    *,
    what: str = "a price",
    maximum: int = MAX_PRICE_CENTS,
) -> int:
    """An amount typed by a merchant ("12,50 €", "$1,234.50") in minor units (1250), read
    in `locale` (the current shop's when None) by `saas.money.parse_money`: every price
    and amount the back office reads comes through here. ProductError if unreadable."""
    try:
        return parse_money(text, currency, locale or shop_locale(), maximum=maximum, what=what)
    except MoneyError as error:
        raise ProductError(str(error)) from None


def parse_optional_price(
    text: str, currency: str, locale: str | None = None, *, what: str = "a price"
) -> int | None:
    if not (text or "").strip():
        return None
    return parse_price(text, currency, locale, what=what)


def format_amount(cents: int, currency: str, locale: str | None = None) -> str:
    """Minor units as the merchant types them back into a form, in `locale` (the current
    shop's when None): 123450 -> '1,234.50' (en_US), '1.234,50' (de_DE); no symbol."""
    return money_amount(cents, currency, locale or shop_locale())


def price_example(currency: str, locale: str | None = None) -> str:
    """What form hints show as an example price: '12.50', '12,50', '1200' (yen)."""
    return amount_example(currency, locale or shop_locale())


def parse_whole_number(text: str, maximum: int, *, negative: str, wrong: str) -> int | None:
    """A whole number >= 0 typed by a merchant, None when empty; ProductError(`negative`)
    for a minus sign, ProductError(`wrong`) for anything else or above `maximum`."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith("-"):
        raise ProductError(negative)
    if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > maximum:
        raise ProductError(wrong)
    return int(text)


def parse_stock(text: str) -> int | None:
    """Stock typed by a merchant: empty means "not tracked"; otherwise a whole number >= 0."""
    return parse_whole_number(
        text,
        MAX_STOCK,
        negative="Stock cannot be negative.",
        wrong="Enter stock as a whole number, like 12, or leave it empty.",
    )


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


def ensure_room_for(adding: int) -> None:
    """Raise ProductLimitReached unless the plan has room for `adding` more products;
    locks the shop's subscription row until the transaction ends."""
    problem = limits.limit_problem(current_tenant.id, Limit.PRODUCTS, adding, lock=True)
    if problem is not None:
        raise ProductLimitReached(problem)


# --- product details --------------------------------------------------------------

MAX_TAGS = 50
MAX_TAG = 255
MAX_SEO_TITLE = 255
MAX_SEO_DESCRIPTION = 500
# Options and variants are checked in variants.py and the CSV import.
MAX_OPTIONS = 3
MAX_OPTION_VALUES = 100
MAX_VARIANTS = 100
MAX_WEIGHT_GRAMS = 1_000_000_000
EDIT_STATUSES = (ProductStatus.ACTIVE, ProductStatus.DRAFT, ProductStatus.ARCHIVED)


def clean_description(html: str) -> str:
    """Merchant rich text reduced to the shop's allow-list (`rich_text`)."""
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
            ensure_room_for(1)
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


# --- the back office's product search (its list page, the CSV export) ---------------

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
