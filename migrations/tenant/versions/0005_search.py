"""Search: full-text and trigram indexes on the catalog.

Same expressions as `tenants.catalog.search_indexes` (the storefront's queries must match them).

Revision ID: t0005
Revises: t0004
Create Date: 2026-11-23
"""

from alembic import op

revision = "t0005"
down_revision = "t0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_products_search_fts ON products USING gin "
        "(to_tsvector('simple'::regconfig, title || ' ' || description))"
    )
    op.execute(
        "CREATE INDEX ix_products_title_trgm ON products USING gin (title public.gin_trgm_ops)"
    )


def downgrade() -> None:
    op.drop_index("ix_products_title_trgm", table_name="products")
    op.drop_index("ix_products_search_fts", table_name="products")
