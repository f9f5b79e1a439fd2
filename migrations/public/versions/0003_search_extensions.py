"""Database extensions the storefront search needs (pg_trgm).

Installed once, in `public`, for every tenant schema to use (tenant indexes name
`public.gin_trgm_ops`; queries find its functions through the default search path).

Revision ID: p0003
Revises: p0002
Create Date: 2026-11-23
"""

from alembic import op

revision = "p0003"
down_revision = "p0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")


def downgrade() -> None:
    # Tenant trigram indexes depend on it: drop them (tenant t0005 downgrade) first.
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
