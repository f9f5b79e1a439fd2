"""Discounts in the back office: the form (its values, reading and saving it) and the
list (filtered by status, with each discount's status and use count).

What a discount does to a cart, and counting its uses, is `tenants.discounts.services`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from werkzeug.datastructures import MultiDict

from saas.db import db
from tenants.accounts.problems import FormInvalid
from tenants.catalog.products import ProductError, format_amount, parse_price
from tenants.collections.models import Collection
from tenants.discounts.models import Discount, DiscountKind, DiscountScope, DiscountUsage
from tenants.discounts.services import MAX_CODE, code_problem

CODE_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{3,{MAX_CODE}}}")
MAX_TITLE = 200
MAX_LIMIT = 1_000_000

KIND_LABELS = {
    DiscountKind.PERCENTAGE: "Percentage off",
    DiscountKind.FIXED_AMOUNT: "Fixed amount off",
    DiscountKind.FREE_SHIPPING: "Free shipping",
}
STATUS_LABELS = {
    "active": "Active",
    "scheduled": "Scheduled",
    "expired": "Expired",
    "used_up": "Used up",
    "inactive": "Deactivated",
}
# What the back office's list can be filtered by ("used up" ones count as active there).
STATUS_FILTERS = {
    "active": "Active",
    "scheduled": "Scheduled",
    "expired": "Expired",
    "inactive": "Deactivated",
}


def status_of(discount: Discount, now: datetime | None = None) -> str:
    """One of STATUS_LABELS' keys."""
    now = now or datetime.now(UTC)
    if not discount.active:
        return "inactive"
    if discount.starts_at is not None and discount.starts_at > now:
        return "scheduled"
    if discount.ends_at is not None and discount.ends_at <= now:
        return "expired"
    if discount.usage_limit is not None and discount.times_used >= discount.usage_limit:
        return "used_up"
    return "active"


class DiscountFormInvalid(FormInvalid):
    """The discount form has mistakes; `errors` maps field names to messages."""


def _local_input(moment: datetime | None, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if moment else ""


def form_values(discount: Discount | None, currency: str, zone: tzinfo) -> dict[str, Any]:
    """The form's values for a discount (defaults for a new one)."""
    if discount is None:
        return {
            "method": "code",
            "kind": DiscountKind.PERCENTAGE,
            "scope": DiscountScope.ALL,
            "collections": [],
            "active": "1",
        }
    if discount.kind == DiscountKind.PERCENTAGE:
        value = f"{(Decimal(discount.value) / 100).normalize():f}"
    elif discount.kind == DiscountKind.FIXED_AMOUNT:
        value = format_amount(discount.value, currency)
    else:
        value = ""
    return {
        "method": "automatic" if discount.code is None else "code",
        "code": discount.code or "",
        "title": discount.title,
        "kind": discount.kind,
        "value": value,
        "scope": discount.scope,
        "collections": [str(i) for i in discount.collection_ids or []],
        "min_subtotal": format_amount(discount.min_subtotal_cents, currency)
        if discount.min_subtotal_cents
        else "",
        "starts_at": _local_input(discount.starts_at, zone),
        "ends_at": _local_input(discount.ends_at, zone),
        "usage_limit": "" if discount.usage_limit is None else str(discount.usage_limit),
        "per_customer_limit": ""
        if discount.per_customer_limit is None
        else str(discount.per_customer_limit),
        "active": "1" if discount.active else "",
    }


def _parse_percentage(text: str) -> int:
    """ "15" or "12.5" (a % sign allowed) in basis points."""
    text = text.strip().removesuffix("%").strip()
    if not re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{1,2})?", text):
        raise ProductError("Enter a percentage from 1 to 100, like 15 or 12.5.")
    try:
        percent = Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern rules it out
        raise ProductError("Enter a percentage from 1 to 100, like 15 or 12.5.") from error
    if not 1 <= percent <= 100:
        raise ProductError("Enter a percentage from 1 to 100, like 15 or 12.5.")
    return int(percent * 100)


def _parse_amount(text: str, currency: str) -> int | None:
    """An amount of money typed by the merchant, in minor units (None if empty)."""
    text = text.strip()
    if not text:
        return None
    return parse_price(text, currency, what="an amount")


def _parse_moment(text: str, zone: tzinfo) -> datetime | None:
    """A date and time typed in the shop's time zone ("2025-06-01T09:00"), in UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ProductError("Enter a date and time, like 2025-06-01 09:00.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if not 2000 <= moment.year <= 2999:
        raise ProductError("Enter a date between the years 2000 and 2999.")
    return moment.astimezone(UTC)


def _parse_limit(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 7 or not 1 <= int(text) <= MAX_LIMIT:
        raise ProductError(
            f"Enter a whole number from 1 to {MAX_LIMIT:,}, or leave it empty for no limit."
        )
    return int(text)


def save_discount(
    discount: Discount | None, form: MultiDict[str, str], currency: str, zone: tzinfo
) -> Discount:
    """Create (discount None) or update a discount from the back office's form. Flushes.

    Raises:
        DiscountFormInvalid: a message per wrong field; nothing has changed.
    """
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    method = text("method")
    if method not in ("code", "automatic"):
        errors["method"] = "Choose a code or an automatic discount."
    code: str | None = None
    if method == "code":
        code = text("code").strip()
        if not code:
            errors["code"] = "Enter the code shoppers will type, like SUMMER15."
        elif not CODE_PATTERN.fullmatch(code):
            errors["code"] = f"Use 3 to {MAX_CODE} letters, digits, - or _ (no spaces)."
        else:
            same = select(Discount.id).where(func.lower(Discount.code) == code.lower())
            if discount is not None:
                same = same.where(Discount.id != discount.id)
            if db.session.scalar(same) is not None:
                errors["code"] = f"Another discount already uses the code “{code}”."
    title = " ".join(text("title").split())
    if len(title) > MAX_TITLE:
        errors["title"] = f"Use at most {MAX_TITLE} characters."
    elif method == "automatic" and not title:
        errors["title"] = "Name the discount: shoppers see it in their cart, like “Summer sale”."
    kind = text("kind")
    value = 0
    if kind not in tuple(DiscountKind):
        errors["kind"] = "Choose what the discount gives."
    elif kind == DiscountKind.PERCENTAGE:
        try:
            value = _parse_percentage(text("value"))
        except ProductError as error:
            errors["value"] = str(error)
    elif kind == DiscountKind.FIXED_AMOUNT:
        try:
            value = _parse_amount(text("value"), currency) or 0
        except ProductError as error:
            errors["value"] = str(error)
        else:
            if value <= 0:
                errors["value"] = "Enter an amount above zero."
    scope = text("scope")
    collection_ids: list[int] = []
    if scope not in tuple(DiscountScope):
        errors["scope"] = "Choose which products the discount applies to."
    elif scope == DiscountScope.COLLECTIONS:
        chosen = {
            int(v)
            for v in form.getlist("collections")
            if v.isascii() and v.isdigit() and len(v) < 10
        }
        collection_ids = (
            sorted(db.session.scalars(select(Collection.id).where(Collection.id.in_(chosen))).all())
            if chosen
            else []
        )
        if not collection_ids:
            errors["collections"] = "Choose at least one collection."
    try:
        min_subtotal = _parse_amount(text("min_subtotal"), currency) or 0
    except ProductError as error:
        errors["min_subtotal"] = str(error)
        min_subtotal = 0
    moments: dict[str, datetime | None] = {}
    for name in ("starts_at", "ends_at"):
        try:
            moments[name] = _parse_moment(text(name), zone)
        except ProductError as error:
            errors[name] = str(error)
    starts_at, ends_at = moments.get("starts_at"), moments.get("ends_at")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = "The end must be after the start."
    caps: dict[str, int | None] = {}
    for name in ("usage_limit", "per_customer_limit"):
        try:
            caps[name] = _parse_limit(text(name))
        except ProductError as error:
            errors[name] = str(error)
    # A plan without discount codes: no new code, and none switched (or kept) on; an
    # existing code can still be edited while deactivated, or deleted.
    switched_on = discount is None or bool(form.get("active"))
    if method == "code" and switched_on and (problem := code_problem()):
        errors["form"] = problem.html()
    if errors:
        raise DiscountFormInvalid(errors)
    if discount is None:
        discount = Discount(times_used=0)
        db.session.add(discount)
    discount.code = code
    discount.title = title
    discount.kind = kind
    discount.value = value
    discount.scope = scope
    discount.collection_ids = collection_ids
    discount.min_subtotal_cents = min_subtotal
    discount.starts_at = starts_at
    discount.ends_at = ends_at
    discount.usage_limit = caps.get("usage_limit")
    discount.per_customer_limit = caps.get("per_customer_limit")
    discount.active = bool(form.get("active"))
    db.session.flush()
    return discount


def discounts_query(search: str = "", status: str = "", now: datetime | None = None) -> Select:
    """The back office's list: newest first, by code or title, by status."""
    now = now or datetime.now(UTC)
    query = select(Discount).order_by(Discount.created_at.desc(), Discount.id.desc())
    search = " ".join(search.split())[:MAX_CODE]
    if search:
        pattern = (
            "%" + search.lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        )
        query = query.where(
            or_(func.lower(Discount.code).like(pattern), func.lower(Discount.title).like(pattern))
        )
    started = or_(Discount.starts_at.is_(None), Discount.starts_at <= now)
    not_ended = or_(Discount.ends_at.is_(None), Discount.ends_at > now)
    if status == "active":
        query = query.where(Discount.active.is_(True), started, not_ended)
    elif status == "scheduled":
        query = query.where(Discount.active.is_(True), Discount.starts_at > now)
    elif status == "expired":
        query = query.where(Discount.ends_at <= now)
    elif status == "inactive":
        query = query.where(Discount.active.is_(False))
    elif status:
        query = query.where(false())
    return query


def form_collections() -> list[tuple[int, str]]:
    """Collections a discount can be limited to, by title."""
    return [
        (row.id, row.title)
        for row in db.session.execute(
            select(Collection.id, Collection.title).order_by(Collection.title, Collection.id)
        )
    ]


def usage_count(discount: Discount) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(DiscountUsage)
            .where(DiscountUsage.discount_id == discount.id)
        )
        or 0
    )
