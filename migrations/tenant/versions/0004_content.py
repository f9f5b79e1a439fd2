"""Storefront content: theme settings, homepage sections, navigation menus, pages.

Revision ID: t0004
Revises: t0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0004"
down_revision = "t0003"
branch_labels = None
depends_on = None


def _ts(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def _now(name: str) -> sa.Column:
    return _ts(name, server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "theme_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("theme", sa.String(50), nullable=False),
        sa.Column("draft", postgresql.JSONB(), nullable=False),
        sa.Column("published", postgresql.JSONB()),
        _ts("published_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_theme_settings")),
        sa.UniqueConstraint("theme", name=op.f("uq_theme_settings_theme")),
    )
    op.create_table(
        "menus",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("handle", sa.String(50), nullable=False),
        sa.Column("items", postgresql.JSONB(), nullable=False),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_menus")),
        sa.UniqueConstraint("handle", name=op.f("uq_menus_handle")),
    )
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("handle", sa.String(255), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("handle", name=op.f("uq_pages_handle")),
    )
    op.create_table(
        "newsletter_subscribers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_newsletter_subscribers")),
        sa.UniqueConstraint("email", name=op.f("uq_newsletter_subscribers_email")),
    )


def downgrade() -> None:
    op.drop_table("newsletter_subscribers")
    op.drop_table("pages")
    op.drop_table("menus")
    op.drop_table("theme_settings")
