"""The points ledger as a CSV file (every line of every customer, oldest first), made by
the export job like the orders and customers lists (`tenants.exports`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Select, select

from tenants.customers.models import Customer
from tenants.exports.exporter import Exporter
from tenants.loyalty.models import PointsEntry
from tenants.orders.models import Order
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area

HEADER = ("Date", "Customer", "Email", "Kind", "What", "Points", "On hold until", "Order",
          "Reason")  # fmt: skip


def _filters(args: Mapping[str, str]) -> dict[str, str]:
    return {}  # the whole ledger: it is the programme's books


def _query(filters: Mapping[str, str]) -> Select[PointsEntry, str, str, int]:
    return (
        select(PointsEntry, Customer.name, Customer.email, Order.number)
        .join(Customer, Customer.id == PointsEntry.customer_id)
        .outerjoin(Order, Order.id == PointsEntry.order_id)
        .order_by(PointsEntry.id)
    )


def _rows() -> Callable[[Any], list[str]]:
    zone = shop_zone(get_settings())

    def row(result: Any) -> list[str]:
        entry, name, email, number = result
        return [
            entry.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            name,
            email,
            entry.kind,
            entry.label,
            str(entry.points),
            entry.available_at.astimezone(zone).strftime("%Y-%m-%d") if entry.held else "",
            f"#{number}" if number else "",
            entry.reason,
        ]

    return row


EXPORTER = Exporter(
    kind="points",
    noun=("points line", "points lines"),
    area=Area.CUSTOMERS,
    header=HEADER,
    filters=_filters,
    query=_query,
    make_row=_rows,
    list_endpoint="backoffice.loyalty_programme",
)
