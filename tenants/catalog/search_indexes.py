"""Search indexes on the catalog: full-text (words) and trigram (misspellings).

Declared here, beside the table, so a schema built from the models gets the same
indexes as one built by the migrations (t0005). The expressions must match the ones
`tenants.catalog.search` queries with, character for character, or PostgreSQL will
not use them: both are built by the functions below.

pg_trgm lives in `public` (migration p0003); its operator class is named with its
schema because tenant DDL runs with the tenant schema first on the search path.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Index, func, text

from tenants.catalog.models import Product

_products = Product.__table__.c


def search_document() -> ColumnElement:
    """The words a product is found by: its title and description.

    'simple' does no stemming, so it works for any language and matches what was typed;
    the config is inline SQL (not a bound value) so the expression equals the index's.
    """
    return func.to_tsvector(
        text("'simple'::regconfig"),
        _products.title + text("' '") + _products.description,
    )


PRODUCTS_FTS = Index("ix_products_search_fts", search_document(), postgresql_using="gin")
PRODUCTS_TITLE_TRGM = Index(
    "ix_products_title_trgm",
    _products.title,
    postgresql_using="gin",
    postgresql_ops={"title": "public.gin_trgm_ops"},
)
