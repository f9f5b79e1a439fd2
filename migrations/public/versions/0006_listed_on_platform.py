"""Shops listed on the platform's landing page: only with the owner's consent, off by
default (existing shops included).

Revision ID: p0006
Revises: p0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "p0006"
down_revision = "p0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column(
            "listed_on_platform", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
    )


def downgrade() -> None:
    op.drop_column("tenants", "listed_on_platform")
