"""The dashboard: orders waiting on the merchant, sales figures, low stock, recent
orders, setup checklist (and launching, refused with what is still missing)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import render_template

from saas.charts import sparkline
from saas.tenancy import current_tenant
from tenants.analytics import dashboard, traffic
from tenants.backoffice import bp
from tenants.backoffice.access import can_open, signed_in
from tenants.orders import attention
from tenants.settings.launch import Missing, missing_for_launch
from tenants.settings.services import get_settings, shop_zone

OPEN_ORDERS_SHOWN = 10


def home_page(launch_missing: list[Missing] | None = None, status: int = 200) -> Any:
    """The dashboard; `launch_missing` when a launch was just refused, to say why."""
    settings = get_settings()
    zone = shop_zone(settings)
    # Figures go only to people who may open what they summarise.
    sees_orders = can_open("backoffice.orders")
    sees_products = can_open("backoffice.products")
    missing = missing_for_launch(settings) if launch_missing is None else launch_missing
    steps = dashboard.checklist(settings, current_tenant, missing)
    local_today = datetime.now(UTC).astimezone(zone).date()
    today = dashboard.day_start(local_today, zone)
    return render_template(
        "backoffice/home.html",
        settings=settings,
        zone=zone,
        waiting=attention.waiting(today) if sees_orders else None,
        open_orders=attention.open_orders(OPEN_ORDERS_SHOWN) if sees_orders else None,
        sales=dashboard.sales(zone) if sees_orders else None,
        sales_trend=sparkline(
            [d.revenue_cents for d in dashboard.daily_sales(zone)], title="Revenue, last 30 days"
        )
        if sees_orders
        else None,
        sessions_today=traffic.totals(local_today, local_today).sessions if sees_orders else 0,
        recent_orders=dashboard.recent_orders() if sees_orders else None,
        low_stock=dashboard.low_stock() if sees_products else None,
        low_stock_threshold=dashboard.LOW_STOCK_THRESHOLD,
        steps=steps,
        steps_left=sum(not step.done for step in steps),
        missing=missing,
        launch_refused=launch_missing is not None,
        can_launch=can_open("backoffice.launch"),
        can_confirm_shipping=can_open("backoffice.shipping_confirm"),
    ), status


@bp.get("/")
@signed_in
def home() -> Any:
    return home_page()
