"""Products: units sold, for the storefront's "best selling" sort.

Kept on the product (checkout adds to it when an order is paid) so sorting a collection
by sales needs no aggregate over order lines on every page.

Revision ID: t0007
Revises: t0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "t0007"
down_revision = "t0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("units_sold", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("products", "units_sold")
