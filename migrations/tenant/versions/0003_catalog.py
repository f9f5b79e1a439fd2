"""Catalog: product details, options and variants, images, collections, inventory history.

Revision ID: t0003
Revises: t0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "t0003"
down_revision = "t0002"
branch_labels = None
depends_on = None


def _created() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _product_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["product_id"],
        ["products.id"],
        ondelete="CASCADE",
        name=op.f(f"fk_{table}_product_id_products"),
    )


def upgrade() -> None:
    empty = sa.text("''")
    op.add_column(
        "products", sa.Column("vendor", sa.String(255), server_default=empty, nullable=False)
    )
    op.add_column(
        "products", sa.Column("product_type", sa.String(255), server_default=empty, nullable=False)
    )
    op.add_column(
        "products",
        sa.Column("tags", sa.ARRAY(sa.String(255)), server_default=sa.text("'{}'"), nullable=False),
    )
    op.add_column(
        "products", sa.Column("seo_title", sa.String(255), server_default=empty, nullable=False)
    )
    op.add_column(
        "products",
        sa.Column("seo_description", sa.String(500), server_default=empty, nullable=False),
    )
    op.add_column(
        "products",
        sa.Column(
            "continue_selling", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column(
        "shop_settings",
        sa.Column("low_stock_threshold", sa.Integer(), server_default=sa.text("5"), nullable=False),
    )
    op.create_table(
        "product_redirects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("old_handle", sa.String(255), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_redirects")),
        sa.UniqueConstraint("old_handle", name=op.f("uq_product_redirects_old_handle")),
        _product_fk("product_redirects"),
    )
    op.create_table(
        "product_options",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("values", sa.ARRAY(sa.String(255)), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_options")),
        sa.UniqueConstraint("product_id", "position", name="product_position"),
        sa.CheckConstraint(
            "position BETWEEN 1 AND 3", name=op.f("ck_product_options_position_range")
        ),
        _product_fk("product_options"),
    )
    op.create_index(op.f("ix_product_options_product_id"), "product_options", ["product_id"])
    op.create_table(
        "product_images",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(100), nullable=False),
        sa.Column("alt", sa.String(512), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sizes", sa.ARRAY(sa.Integer()), nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_images")),
        _product_fk("product_images"),
    )
    op.create_index(op.f("ix_product_images_product_id"), "product_images", ["product_id"])
    op.create_table(
        "product_variants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("option1", sa.String(255)),
        sa.Column("option2", sa.String(255)),
        sa.Column("option3", sa.String(255)),
        sa.Column("sku", sa.String(255)),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("compare_at_cents", sa.Integer()),
        sa.Column("weight_grams", sa.Integer()),
        sa.Column("barcode", sa.String(64)),
        sa.Column("inventory_tracked", sa.Boolean(), nullable=False),
        sa.Column("inventory_quantity", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer()),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_variants")),
        sa.UniqueConstraint("sku", name=op.f("uq_product_variants_sku")),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_product_variants_price_not_negative")),
        sa.CheckConstraint(
            "compare_at_cents IS NULL OR compare_at_cents >= price_cents",
            name=op.f("ck_product_variants_compare_at_not_below_price"),
        ),
        sa.CheckConstraint(
            "weight_grams IS NULL OR weight_grams >= 0",
            name=op.f("ck_product_variants_weight_not_negative"),
        ),
        _product_fk("product_variants"),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["product_images.id"],
            ondelete="SET NULL",
            name=op.f("fk_product_variants_image_id_product_images"),
        ),
    )
    op.create_index(op.f("ix_product_variants_product_id"), "product_variants", ["product_id"])
    # Every existing product gets its default variant, carrying its price and stock.
    op.execute(
        "INSERT INTO product_variants (product_id, position, price_cents, inventory_tracked,"
        " inventory_quantity) SELECT id, 1, price_cents, inventory_quantity IS NOT NULL,"
        " COALESCE(inventory_quantity, 0) FROM products"
    )
    op.create_table(
        "inventory_adjustments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("quantity_after", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("staff_id", sa.Integer()),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_adjustments")),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["product_variants.id"],
            ondelete="CASCADE",
            name=op.f("fk_inventory_adjustments_variant_id_product_variants"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            ondelete="SET NULL",
            name=op.f("fk_inventory_adjustments_staff_id_staff"),
        ),
    )
    op.create_index(
        op.f("ix_inventory_adjustments_variant_id"), "inventory_adjustments", ["variant_id"]
    )
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("handle", sa.String(255), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("match_all", sa.Boolean(), nullable=False),
        sa.Column("rules", JSONB(), nullable=False),
        sa.Column("sort", sa.String(20), nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("handle", name=op.f("uq_collections_handle")),
    )
    op.create_table(
        "collection_products",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "product_id", name=op.f("pk_collection_products")),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            ondelete="CASCADE",
            name=op.f("fk_collection_products_collection_id_collections"),
        ),
        _product_fk("collection_products"),
    )
    op.create_index(
        op.f("ix_collection_products_product_id"), "collection_products", ["product_id"]
    )


def downgrade() -> None:
    op.drop_table("collection_products")
    op.drop_table("collections")
    op.drop_table("inventory_adjustments")
    op.drop_table("product_variants")
    op.drop_table("product_images")
    op.drop_table("product_options")
    op.drop_table("product_redirects")
    op.drop_column("shop_settings", "low_stock_threshold")
    for column in (
        "continue_selling",
        "seo_description",
        "seo_title",
        "tags",
        "product_type",
        "vendor",
    ):
        op.drop_column("products", column)
