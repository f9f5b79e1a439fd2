"""Every table of a shop's own schema, for what must see them all at once: the tenant
migrations (Alembic's autogenerate and checks), schema provisioning and the test suite.

Each domain declares its tables in its own `models.py` (on `saas.db.TenantModel`): a new
domain adds its module here, and a migration in `migrations/tenant/`.
"""

from saas import outbox
from tenants.analytics import models as analytics
from tenants.analytics import sales_models as analytics_sales
from tenants.catalog import models as catalog
from tenants.catalog import search_indexes
from tenants.checkout import models as checkout
from tenants.collections import models as collections
from tenants.content import models as content
from tenants.customers import models as customers
from tenants.discounts import models as discounts
from tenants.exports import models as exports
from tenants.inbox import models as inbox
from tenants.loyalty import models as loyalty
from tenants.orders import models as orders
from tenants.reviews import models as reviews
from tenants.settings import models as settings
from tenants.shipping import models as shipping
from tenants.staff import models as staff

MODULES = (
    outbox,
    analytics,
    analytics_sales,
    catalog,
    search_indexes,
    checkout,
    collections,
    content,
    customers,
    discounts,
    exports,
    inbox,
    loyalty,
    orders,
    reviews,
    settings,
    shipping,
    staff,
)
