"""Email in HTML beside its text: the outbox keeps a message's HTML part (themed emails,
such as the review request).

Revision ID: t0019
Revises: t0018
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "t0019"
down_revision = "t0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox_messages", sa.Column("html_body", sa.Text()))


def downgrade() -> None:
    op.drop_column("outbox_messages", "html_body")
