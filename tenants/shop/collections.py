"""Collection pages: a collection's active products, sorted and filtered by the shopper.

Works without JavaScript: the sort and filter controls are a plain GET form, and every
page of results has its own URL (so the page cache can keep it).
"""

from __future__ import annotations

from typing import Any

from flask import request

from saas.paging import Page, current_page
from tenants.catalog.products import ProductError, parse_price
from tenants.collections.services import SORTS, collection_by_handle, collection_products, facets
from tenants.settings.services import get_settings
from tenants.shop import bp, product_cards, render
from tenants.shop.snapshot import remembered

PER_PAGE = 24
AVAILABILITY = {"in": "In stock", "out": "Out of stock"}
OPTION_PARAM = "option."  # `?option.size=M`: one parameter per option name
# What shoppers may sort by; "featured" is the merchant's own order for the collection.
SHOPPER_SORTS = {"featured": "Featured", **{str(k): v for k, v in SORTS.items() if k != "manual"}}


def _cents(value: str | None) -> int | None:
    """A price bound typed by a shopper, in cents; None (no bound) if empty or unreadable."""
    text = (value or "")[:20]
    if not text.strip():
        return None
    settings = get_settings()
    try:
        return parse_price(text, settings.currency, settings.locale)
    except ProductError:
        return None


def _chosen_options(offered: list[dict[str, Any]]) -> dict[str, str]:
    """`option.<name>` parameters naming an option and value this collection offers
    (anything else is ignored, so junk in the URL cannot reach the query)."""
    chosen = {}
    for option in offered:
        value = request.args.get(OPTION_PARAM + option["key"], "")
        if value in option["values"]:
            chosen[option["key"]] = value
    return chosen


@bp.get("/collections/<handle>")
def collection(handle: str) -> Any:
    found = collection_by_handle(handle)
    if found is None:
        return render("404.html", status=404)
    sort = request.args.get("sort", "featured")
    if sort not in SHOPPER_SORTS:
        sort = "featured"
    offered = remembered(("facets", found.id), lambda: facets(found))
    available = request.args.get("available", "")
    filters = {
        "tag": (request.args.get("tag") or "").strip().lower()[:100] or None,
        "min_price": _cents(request.args.get("min")),
        "max_price": _cents(request.args.get("max")),
        "available": available if available in AVAILABILITY else None,
        "options": _chosen_options(offered["options"]),
    }
    page = current_page()
    items, total = collection_products(
        found,
        page,
        None if sort == "featured" else sort,
        filters,
        per_page=PER_PAGE,
    )
    return render(
        "collection.html",
        collection=found,
        results=Page(product_cards(items), total, page, PER_PAGE),
        sort=sort,
        sorts=SHOPPER_SORTS,
        tag=filters["tag"] or "",
        min_price=request.args.get("min", "")[:20],
        max_price=request.args.get("max", "")[:20],
        available=filters["available"] or "",
        availability=AVAILABILITY,
        facets=offered,
        chosen=filters["options"],
        option_param=OPTION_PARAM,
        filtered=any(
            filters[k] not in (None, "", {})
            for k in ("tag", "min_price", "max_price", "available", "options")
        ),
    )
