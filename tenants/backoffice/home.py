"""The dashboard: sales figures, low stock, recent orders, setup checklist."""

from __future__ import annotations

from flask import render_template

from saas.tenancy import current_tenant
from tenants.analytics import dashboard
from tenants.backoffice import bp
from tenants.backoffice.access import can_open, signed_in
from tenants.settings.services import get_settings, shop_zone


@bp.get("/")
@signed_in
def home() -> str:
    settings = get_settings()
    zone = shop_zone(settings)
    # Figures go only to people who may open what they summarise.
    sees_orders = can_open("backoffice.orders")
    sees_products = can_open("backoffice.products")
    steps = dashboard.checklist(settings, current_tenant)
    return render_template(
        "backoffice/home.html",
        settings=settings,
        zone=zone,
        sales=dashboard.sales(zone) if sees_orders else None,
        recent_orders=dashboard.recent_orders() if sees_orders else None,
        low_stock=dashboard.low_stock() if sees_products else None,
        low_stock_threshold=dashboard.LOW_STOCK_THRESHOLD,
        steps=steps,
        steps_left=sum(not step.done for step in steps),
        can_launch=can_open("backoffice.launch"),
    )
