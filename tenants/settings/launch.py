"""Whether a shopper could really buy, and launching the shop.

`missing_for_launch` is the one answer to "what stops a sale": the setup checklist
shows it and `launch_shop` refuses while it is not empty, so the back office never
calls a shop live that cannot take an order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select

from saas import audit
from saas.db import db
from tenants.catalog.models import Product, ProductStatus
from tenants.payments.services import offered_methods
from tenants.settings.models import ShopSettings
from tenants.settings.services import get_settings, shop_row
from tenants.shipping import defaults as shipping_defaults


@dataclass(frozen=True)
class Missing:
    """One thing a shopper needs that the shop lacks."""

    key: str  # "product", "payments", "shipping" or "shipping_review"
    message: str  # what is missing and why it matters, for people
    action: str  # the link's text
    endpoint: str  # where the merchant fixes it


def _has_product() -> bool:
    return db.session.scalar(select(Product.id).limit(1)) is not None


def _has_buyable_product() -> bool:
    """An active product with stock, untracked stock, or selling on when sold out."""
    return (
        db.session.scalar(
            select(Product.id)
            .where(
                Product.status == ProductStatus.ACTIVE,
                or_(
                    Product.inventory_quantity.is_(None),
                    Product.inventory_quantity > 0,
                    Product.continue_selling.is_(True),
                ),
            )
            .limit(1)
        )
        is not None
    )


def missing_for_launch(settings: ShopSettings | None = None) -> list[Missing]:
    """What a shopper still lacks to place an order, in the order to fix it (empty: none)."""
    settings = settings or get_settings()
    missing: list[Missing] = []
    if not _has_buyable_product():
        if _has_product():
            missing.append(
                Missing(
                    "product",
                    "No product can be bought: make one active and in stock.",
                    "Go to products",
                    "backoffice.products",
                )
            )
        else:
            missing.append(
                Missing(
                    "product",
                    "Your shop has nothing to sell yet: add a product.",
                    "Add a product",
                    "backoffice.products",
                )
            )
    if not offered_methods(settings):
        missing.append(
            Missing(
                "payments",
                "Shoppers have no way to pay: choose a payment method.",
                "Set up payments",
                "backoffice.payments_settings",
            )
        )
    if not shipping_defaults.can_deliver(settings):
        missing.append(
            Missing(
                "shipping",
                "Orders have no way to reach shoppers: add a shipping rate or offer local pickup.",
                "Set up shipping",
                "backoffice.shipping_settings",
            )
        )
    elif settings.shipping_needs_review:
        missing.append(
            Missing(
                "shipping_review",
                "Your shipping rate is our suggestion "
                f"({shipping_defaults.suggestion(settings)}): confirm it or change it.",
                "Review your shipping rate",
                "backoffice.shipping_settings",
            )
        )
    return missing


class LaunchBlocked(Exception):
    """The shop cannot take an order yet; `missing` says why."""

    def __init__(self, missing: list[Missing]) -> None:
        super().__init__("; ".join(m.message for m in missing))
        self.missing = missing


def launch_shop() -> bool:
    """Open the storefront to everyone. False if it was already launched.

    Raises:
        LaunchBlocked: a shopper could not buy yet; nothing was changed.
    """
    tenant = shop_row()
    if tenant.launched_at is not None:
        return False
    missing = missing_for_launch()
    if missing:
        raise LaunchBlocked(missing)
    tenant.launched_at = datetime.now(UTC)
    audit.record("shop.launched")
    db.session.flush()
    return True
