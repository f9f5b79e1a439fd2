"""Settings: whether the shipping rate a new shop starts with awaits the merchant's review.

New shops get a suggested domestic zone with a flat rate; the setup checklist keeps a
"Review your shipping rate" step open, and launching waits, until the merchant confirms
or edits it. Existing shops set up their own shipping: nothing to review.

Revision ID: t0009
Revises: t0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "t0009"
down_revision = "t0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "shop_settings",
        sa.Column(
            "shipping_needs_review", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
    )


def downgrade() -> None:
    op.drop_column("shop_settings", "shipping_needs_review")
