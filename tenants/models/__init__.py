"""Tables that live in each tenant's own schema (declared on `saas.db.TenantModel`)."""

from tenants.models.carts import Cart, CartLine
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
from tenants.models.customers import Customer, CustomerAddress, CustomerToken, WishlistItem
from tenants.models.discounts import Discount, DiscountKind, DiscountScope, DiscountUsage
from tenants.models.inventory import AdjustmentReason, InventoryAdjustment
from tenants.models.orders import (
    Counter,
    Fulfillment,
    FulfillmentStatus,
    Order,
    OrderEvent,
    OrderLine,
    PaymentMethod,
    PaymentStatus,
    Refund,
)
from tenants.models.outbox import OutboxMessage
from tenants.models.search import PRODUCTS_FTS, PRODUCTS_TITLE_TRGM  # noqa: F401 (indexes)
from tenants.models.settings import ShopSettings
from tenants.models.shipping import RateKind, ShippingRate, ShippingZone, TaxRate
from tenants.models.staff import Area, Role, Staff, StaffStatus, StaffToken, TokenPurpose

__all__ = [
    "AdjustmentReason",
    "Area",
    "Cart",
    "CartLine",
    "Collection",
    "CollectionKind",
    "CollectionProduct",
    "CollectionSort",
    "Counter",
    "Customer",
    "CustomerAddress",
    "CustomerToken",
    "Discount",
    "DiscountKind",
    "DiscountScope",
    "DiscountUsage",
    "Fulfillment",
    "FulfillmentStatus",
    "InventoryAdjustment",
    "Menu",
    "NewsletterSubscriber",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OutboxMessage",
    "Page",
    "PaymentMethod",
    "PaymentStatus",
    "Product",
    "ProductImage",
    "ProductOption",
    "ProductRedirect",
    "ProductStatus",
    "ProductVariant",
    "RateKind",
    "Refund",
    "Role",
    "ShippingRate",
    "ShippingZone",
    "ShopSettings",
    "Staff",
    "StaffStatus",
    "StaffToken",
    "TaxRate",
    "ThemeSettings",
    "TokenPurpose",
    "WishlistItem",
]
