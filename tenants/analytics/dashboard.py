"""What the back office's dashboard, orders and analytics pages read.

Every figure comes from the shop's own tables. "Today" and "the last 30 days" are
calendar days in the shop's time zone (a shop in Tokyo closes its day at midnight
Tokyo time); only orders in `SALE_STATUSES` count as sales.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from saas.db import db
from saas.tenancy import TenantRecord
from tenants.catalog.models import Product
from tenants.orders.models import SALE_STATUSES, Order
from tenants.settings.launch import Missing, missing_for_launch
from tenants.settings.models import ShopSettings
from tenants.shipping.defaults import suggestion

LOW_STOCK_THRESHOLD = 5
PERIOD_DAYS = 30


@dataclass(frozen=True)
class Figures:
    orders: int
    revenue_cents: int

    @property
    def average_cents(self) -> int:
        return self.revenue_cents // self.orders if self.orders else 0


@dataclass(frozen=True)
class Sales:
    today: Figures
    period: Figures  # the last PERIOD_DAYS calendar days, today included
    since: date  # first day of the period, in the shop's time zone


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of `day` in `zone`, as an aware UTC time."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def sales(zone: ZoneInfo, now: datetime | None = None) -> Sales:
    """Orders and revenue today and over the last 30 days, in one query."""
    now = now or datetime.now(UTC)
    today = now.astimezone(zone).date()
    since = today - timedelta(days=PERIOD_DAYS - 1)
    today_start, period_start = day_start(today, zone), day_start(since, zone)
    is_today = Order.placed_at >= today_start
    row = db.session.execute(
        select(
            func.count().filter(is_today),
            func.coalesce(func.sum(Order.total_cents).filter(is_today), 0),
            func.count(),
            func.coalesce(func.sum(Order.total_cents), 0),
        ).where(
            Order.payment_status.in_(SALE_STATUSES),
            Order.placed_at >= period_start,
            Order.placed_at <= now,
        )
    ).one()
    return Sales(
        today=Figures(int(row[0]), int(row[1])),
        period=Figures(int(row[2]), int(row[3])),
        since=since,
    )


@dataclass(frozen=True)
class Day:
    day: date
    orders: int
    revenue_cents: int


def daily_sales(zone: ZoneInfo, now: datetime | None = None) -> list[Day]:
    """Each of the last 30 days (oldest first) with its orders and revenue; gaps are zeros."""
    now = now or datetime.now(UTC)
    today = now.astimezone(zone).date()
    since = today - timedelta(days=PERIOD_DAYS - 1)
    rows = db.session.execute(
        select(Order.placed_at, Order.total_cents).where(
            Order.payment_status.in_(SALE_STATUSES),
            Order.placed_at >= day_start(since, zone),
            Order.placed_at <= now,
        )
    )
    # Bucketed here rather than in SQL, so the day boundaries are Python's zoneinfo
    # ones, the same as `sales()` uses, whatever tz database the server has.
    totals: dict[date, list[int]] = {}
    for placed_at, total in rows:
        bucket = totals.setdefault(placed_at.astimezone(zone).date(), [0, 0])
        bucket[0] += 1
        bucket[1] += total
    days = (since + timedelta(days=n) for n in range(PERIOD_DAYS))
    return [Day(d, *totals.get(d, (0, 0))) for d in days]


def recent_orders(limit: int = 5) -> list[Order]:
    return list(
        db.session.scalars(
            select(Order).order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)
        )
    )


def orders_page(page: int, per_page: int = 25) -> tuple[list[Order], int]:
    """One page of every order, newest first, and the total count."""
    rows = list(
        db.session.scalars(
            select(Order)
            .order_by(Order.placed_at.desc(), Order.id.desc())
            .limit(per_page)
            .offset((max(page, 1) - 1) * per_page)
        )
    )
    total = db.session.scalar(select(func.count()).select_from(Order)) or 0
    return rows, total


def low_stock(threshold: int = LOW_STOCK_THRESHOLD, limit: int = 10) -> list[Product]:
    """Products whose tracked stock is at or under `threshold`, the emptiest first."""
    return list(
        db.session.scalars(
            select(Product)
            .where(
                Product.inventory_quantity.is_not(None),
                Product.inventory_quantity <= threshold,
            )
            .order_by(Product.inventory_quantity, Product.title, Product.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool
    hint: str
    endpoint: str | None  # where the merchant does it (None: a button does it)


def checklist(
    settings: ShopSettings, tenant: TenantRecord, missing: list[Missing] | None = None
) -> list[Step]:
    """The first-run steps, in the order a new merchant should take them.

    Product, payments and shipping are done when `missing_for_launch` (passed in as
    `missing`, or asked here) no longer names them: the same rule that lets the shop launch.
    """
    if missing is None:
        missing = missing_for_launch(settings)
    lacking = {m.key: m for m in missing}
    product = lacking.get("product")
    review = lacking.get("shipping_review")
    if review is not None:
        shipping = Step(
            "shipping",
            "Review your shipping rate",
            False,
            f"We set up {suggestion(settings)}. Confirm it if it suits you, or change it.",
            "backoffice.shipping_settings",
        )
    else:
        shipping = Step(
            "shipping",
            "Set up shipping",
            "shipping" not in lacking,
            "Add a shipping zone with a rate, or offer local pickup, so orders can reach shoppers.",
            "backoffice.shipping_settings",
        )
    return [
        Step(
            "product",
            "Add a product",
            product is None,
            product.message if product else "Your catalog is what shoppers see first.",
            "backoffice.products",
        ),
        Step(
            "theme",
            "Pick a theme",
            settings.theme_chosen,
            "Choose the look of your storefront.",
            "backoffice.themes",
        ),
        Step(
            "payments",
            "Set up payments",
            "payments" not in lacking,
            "Choose how shoppers pay: card through your Stripe account, bank transfer or "
            "cash on delivery.",
            "backoffice.payments_settings",
        ),
        shipping,
        Step(
            "launch",
            "Launch your shop",
            tenant.launched,
            "Until then shoppers see a “coming soon” page.",
            None,
        ),
    ]
