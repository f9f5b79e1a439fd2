"""Products: page views of the last 30 days, for the storefront's "most popular" sort.

Kept on the product (the analytics rollup sets it once a day from the daily view
counts) so sorting a collection by popularity needs no aggregate on every page.

Revision ID: t0014
Revises: t0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "t0014"
down_revision = "t0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("recent_views", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("products", "recent_views")
