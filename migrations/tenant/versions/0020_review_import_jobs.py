"""Review CSV imports run as a background job: each run keeps its progress (reviews in
the file, reviews added so far) and why it failed.

Revision ID: t0020
Revises: t0019
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "t0020"
down_revision = "t0019"
branch_labels = None
depends_on = None

COLUMNS = [
    sa.Column("total", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("processed", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("failure", sa.Text(), nullable=False, server_default=sa.text("''")),
]


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("review_imports", column)


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_column("review_imports", column.name)
