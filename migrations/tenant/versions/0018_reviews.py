"""Product reviews and ratings: reviews and their photos, review CSV imports, each
product's published rating summary, the shop's review settings, and which orders were
asked for a review.

Revision ID: t0018
Revises: t0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "t0018"
down_revision = "t0017"
branch_labels = None
depends_on = None

SETTINGS = [
    sa.Column("reviews_moderation", sa.String(10), nullable=False, server_default="approve"),
    sa.Column("reviews_hold_links", sa.Boolean(), nullable=False, server_default="true"),
    sa.Column("reviews_blocked_words", sa.Text(), nullable=False, server_default=""),
    sa.Column("reviews_hold_rating", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("reviews_allow_guests", sa.Boolean(), nullable=False, server_default="false"),
    sa.Column("reviews_request_days", sa.Integer(), nullable=False, server_default="7"),
]


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("rating_average", sa.Numeric(3, 2), nullable=False, server_default=sa.text("0")),
    )
    op.add_column(
        "products",
        sa.Column("rating_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("orders", sa.Column("review_requested_at", sa.DateTime(timezone=True)))
    for column in SETTINGS:
        op.add_column("shop_settings", column)
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer()),
        sa.Column("customer_id", sa.Integer()),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(150), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_name", sa.String(80), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, server_default=sa.text("''")),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("held_reason", sa.String(200), nullable=False, server_default=sa.text("''")),
        sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("report_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("photo_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("reply", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("replied_at", sa.DateTime(timezone=True)),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating_range")),
        sa.CheckConstraint("report_count >= 0", name=op.f("ck_reviews_report_count_not_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_reviews_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_reviews_order_line_id_order_lines"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_reviews_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("order_line_id", name=op.f("uq_reviews_order_line_id")),
    )
    op.create_index(
        "ix_reviews_product_status_created", "reviews", ["product_id", "status", "created_at"]
    )
    op.create_index(op.f("ix_reviews_customer_id"), "reviews", ["customer_id"])
    op.create_table(
        "review_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sizes", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
            name=op.f("fk_review_photos_review_id_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_photos")),
    )
    op.create_index(op.f("ix_review_photos_review_id"), "review_photos", ["review_id"])
    op.create_table(
        "review_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("csv_text", sa.Text(), nullable=False),
        sa.Column("summary", JSONB(), nullable=False),
        sa.Column("problems", JSONB(), nullable=False),
        sa.Column("staff_id", sa.Integer()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_review_imports_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_imports")),
    )


def downgrade() -> None:
    op.drop_table("review_imports")
    op.drop_table("review_photos")
    op.drop_table("reviews")
    for column in SETTINGS:
        op.drop_column("shop_settings", column.name)
    op.drop_column("orders", "review_requested_at")
    op.drop_column("products", "rating_count")
    op.drop_column("products", "rating_average")
