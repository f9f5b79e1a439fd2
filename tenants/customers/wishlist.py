"""A customer's wishlist: products saved for later, shown while shoppers can see them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from saas.db import db
from tenants.catalog.models import Product, ProductStatus
from tenants.customers.models import Customer, WishlistItem
from tenants.customers.problems import CustomerProblem

MAX_WISHLIST = 500


def add_to_wishlist(customer: Customer, product_id: int) -> bool:
    """Save an active product to the wishlist; True if it is there now. Twice is once."""
    product = db.session.get(Product, product_id)
    if product is None or product.status != ProductStatus.ACTIVE:
        return False
    count = db.session.scalar(select(func.count()).where(WishlistItem.customer_id == customer.id))
    if (count or 0) >= MAX_WISHLIST and not in_wishlist(customer, product_id):
        raise CustomerProblem(
            {"": f"Your wishlist is full ({MAX_WISHLIST} products). Remove some first."}
        )
    db.session.execute(
        pg_insert(WishlistItem)
        .values(customer_id=customer.id, product_id=product_id)
        .on_conflict_do_nothing()
    )
    return True


def remove_from_wishlist(customer: Customer, product_id: int) -> bool:
    """Take a product off the wishlist; True if it was on it."""
    item = db.session.get(WishlistItem, (customer.id, product_id))
    if item is None:
        return False
    db.session.delete(item)
    return True


def in_wishlist(customer: Customer, product_id: int) -> bool:
    """Whether the product is on the customer's wishlist."""
    return db.session.get(WishlistItem, (customer.id, product_id)) is not None


def wishlist_products(customer: Customer) -> list[Product]:
    """The wishlist's products that shoppers can see, the latest saved first.

    Products unpublished since (draft, archived) are left out, not shown: a draft may
    be a product nobody is meant to see yet.
    """
    return list(
        db.session.scalars(
            select(Product)
            .join(WishlistItem, WishlistItem.product_id == Product.id)
            .where(WishlistItem.customer_id == customer.id, Product.status == ProductStatus.ACTIVE)
            .order_by(WishlistItem.created_at.desc(), Product.id.desc())
        )
    )
