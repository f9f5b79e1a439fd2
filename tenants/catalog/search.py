"""Storefront product search: full-text first, then trigram similarity for misspellings.

A product matches when the query's words are in its title or description (PostgreSQL
full-text search, `websearch_to_tsquery`: quotes, `or` and `-word` work as people
expect) or when the query is close to a stretch of its title ("bakpack" finds
"Canvas Backpack"). Both conditions are served by GIN indexes (`tenants.catalog.search_indexes`);
word matches rank above near-misses. Only active products are ever returned, and the
query runs in the current shop's schema like every tenant query.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    cast,
    func,
    literal,
    select,
    text,
)

from saas.db import db
from saas.paging import Page
from tenants.catalog.models import Product, ProductStatus
from tenants.catalog.search_indexes import search_document

MAX_QUERY = 200
# How close a query must be to part of a title to count as a misspelling of it. Lower
# finds more typos but also unrelated words sharing a few letters.
TYPO_THRESHOLD = 0.4
PER_PAGE = 24


def clean_query(raw: str | None) -> str:
    """The query as searched: one line, no NULs (PostgreSQL refuses them), bounded."""
    text_ = (raw or "").replace("\x00", " ")
    return " ".join(text_.split())[:MAX_QUERY].strip()


def search_products(q: str, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """One page of the active products matching `q`, best first, with the total count.

    Words first; only when no product has them all does the search fall back to
    titles close to what was typed. (Trying both at once costs a trigram scan of many
    near-misses on every search, and buries exact matches under noise.)
    """
    q = clean_query(q)
    page = max(1, min(page, 10_000))
    if not q:
        return Page([], 0, page, per_page)
    words = func.websearch_to_tsquery(text("'simple'::regconfig"), q)
    document = search_document()
    typed = literal(q, String)
    active = Product.status == ProductStatus.ACTIVE
    with _search_settings():
        found = _page(
            and_(active, document.op("@@")(words)),
            func.ts_rank_cd(document, words),
            page,
            per_page,
        )
        if found.total == 0:
            found = _page(
                and_(active, typed.op("<%")(Product.title)),
                cast(func.word_similarity(typed, Product.title), Float),
                page,
                per_page,
            )
    return found


def _page(matches: ColumnElement[bool], rank: ColumnElement, page: int, per_page: int) -> Page:
    rows = db.session.execute(
        select(Product, func.count().over())
        .where(matches)
        .order_by(rank.desc(), Product.title, Product.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    if rows:
        return Page([row[0] for row in rows], rows[0][1], page, per_page)
    # Past the last page (or nothing at all): still say how many there are.
    total = 0
    if page > 1:
        total = db.session.scalar(select(func.count()).select_from(Product).where(matches)) or 0
    return Page([], total, page, per_page)


@contextmanager
def _search_settings() -> Iterator[None]:
    """Planner settings for the search statements only, restored afterwards.

    The trigram operator `<%` compares against `pg_trgm.word_similarity_threshold`.
    And the planner prices `to_tsvector()` far too cheaply, so on a large catalog it
    prefers a sequential scan that re-parses every product (~6x slower than the GIN
    indexes at 10,000 products): sequential scans are refused for these statements.
    Both are transaction-local (`is_local`), so nothing outlives the transaction on a
    pooled connection even if the restore below never runs.
    """
    previous = db.session.execute(
        text(
            "SELECT current_setting('enable_seqscan'),"
            " set_config('pg_trgm.word_similarity_threshold', :t, true),"
            " set_config('enable_seqscan', 'off', true)"
        ),
        {"t": str(TYPO_THRESHOLD)},
    ).scalar_one()
    try:
        yield
    finally:
        db.session.execute(text("SELECT set_config('enable_seqscan', :v, true)"), {"v": previous})
