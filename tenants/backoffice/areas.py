"""Analytics pages (orders: `orders`; themes: `online_store`; customers:
`customers`)."""

from __future__ import annotations

from flask import render_template

from tenants.analytics import dashboard
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area


@bp.get("/analytics")
@requires(Area.ORDERS)
def analytics() -> str:
    zone = shop_zone(get_settings())
    return render_template(
        "backoffice/analytics.html",
        sales=dashboard.sales(zone),
        days=dashboard.daily_sales(zone),
        currency=get_settings().currency,
    )
