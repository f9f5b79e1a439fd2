"""Storefront search: `/search?q=`, over this shop's active products only."""

from __future__ import annotations

from typing import Any

from flask import request

from saas.paging import current_page
from tenants.catalog.search import MAX_QUERY, clean_query, search_products
from tenants.shop import bp, product_cards, render


@bp.get("/search")
def search() -> Any:
    q = clean_query(request.args.get("q"))
    results = search_products(q, current_page()) if q else None
    if results is not None:
        results.items = product_cards(results.items)
    return render("search.html", q=q, results=results, max_query=MAX_QUERY)
