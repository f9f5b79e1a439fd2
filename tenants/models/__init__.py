"""Tables that live in each tenant's own schema (declared on `saas.db.TenantModel`)."""

from tenants.models.catalog import (
    Product,
    ProductImage,
    ProductOption,
    ProductRedirect,
    ProductStatus,
    ProductVariant,
)
from tenants.models.collections import (
    Collection,
    CollectionKind,
    CollectionProduct,
    CollectionSort,
)
from tenants.models.content import Menu, NewsletterSubscriber, Page, ThemeSettings
from tenants.models.inventory import AdjustmentReason, InventoryAdjustment
from tenants.models.orders import Order, OrderStatus
from tenants.models.outbox import OutboxMessage
from tenants.models.search import PRODUCTS_FTS, PRODUCTS_TITLE_TRGM  # noqa: F401 (indexes)
from tenants.models.settings import ShopSettings
from tenants.models.staff import Area, Role, Staff, StaffStatus, StaffToken, TokenPurpose

__all__ = [
    "AdjustmentReason",
    "Area",
    "Collection",
    "CollectionKind",
    "CollectionProduct",
    "CollectionSort",
    "InventoryAdjustment",
    "Menu",
    "NewsletterSubscriber",
    "Order",
    "OrderStatus",
    "OutboxMessage",
    "Page",
    "Product",
    "ProductImage",
    "ProductOption",
    "ProductRedirect",
    "ProductStatus",
    "ProductVariant",
    "Role",
    "ShopSettings",
    "Staff",
    "StaffStatus",
    "StaffToken",
    "ThemeSettings",
    "TokenPurpose",
]
