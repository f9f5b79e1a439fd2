"""Tables that live in each tenant's own schema (declared on `saas.db.TenantModel`)."""

from tenants.models.catalog import Product, ProductStatus
from tenants.models.outbox import OutboxMessage

__all__ = ["OutboxMessage", "Product", "ProductStatus"]
