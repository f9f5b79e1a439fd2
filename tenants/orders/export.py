"""The orders list as a CSV file: one row per order, filtered as the list is.

Made by the export job (`tenants.exports.runs`) with the list's own query
(`admin.list_query`); amounts are written as files write them ("1234.50"), times in the
shop's time zone, regions by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import selectinload

from saas.money import file_amount
from tenants.exports.exporter import Exporter
from tenants.geo.addresses import country_rule, region_name
from tenants.orders import admin
from tenants.orders.models import PAYMENT_METHOD_LABELS, Order
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area

ADDRESS_COLUMNS = (
    ("name", "Name"),
    ("company", "Company"),
    ("line1", "Address 1"),
    ("line2", "Address 2"),
    ("city", "City"),
    ("region", "Region"),
    ("postal_code", "Postal code"),
    ("country", "Country code"),
    ("phone", "Phone"),
)
HEADER = (
    "Order",
    "Placed at",
    "Email",
    "Customer",
    "Phone",
    "Payment status",
    "Fulfilment status",
    "Cancelled at",
    "Payment method",
    "Currency",
    "Subtotal",
    "Discount code",
    "Discount",
    "Shipping method",
    "Shipping",
    "Taxes",
    "Taxes included",
    "Total",
    "Refunded",
    "Items",
    "Item count",
    *(f"Shipping {label}" for _, label in ADDRESS_COLUMNS),
    "Note",
)


def address_cells(address: Mapping[str, Any] | Any | None) -> list[str]:
    """The cells of `ADDRESS_COLUMNS` for an address dict or object (empty if none): the
    region by name where the country has a list of them."""
    if not address:
        return [""] * len(ADDRESS_COLUMNS)
    get: Callable[[str], Any] = (
        address.get if isinstance(address, Mapping) else lambda name: getattr(address, name, "")
    )
    values = {name: str(get(name) or "") for name, _ in ADDRESS_COLUMNS}
    country = values["country"].upper()
    if country_rule(country).regions and values["region"]:
        values["region"] = region_name(country, values["region"])
    return [values[name] for name, _ in ADDRESS_COLUMNS]


def _rows() -> Callable[[Order], list[str]]:
    zone = shop_zone(get_settings())

    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    def row(order: Order) -> list[str]:
        money = lambda cents: file_amount(cents, order.currency)  # noqa: E731
        items = "; ".join(
            f"{line.quantity} x {line.title}"
            + (f" ({line.variant_title})" if line.variant_title else "")
            for line in order.lines
        )
        return [
            order.name,
            when(order.placed_at),
            order.email,
            order.customer_name,
            order.phone,
            order.payment_status,
            order.fulfillment_status,
            when(order.cancelled_at),
            PAYMENT_METHOD_LABELS.get(order.payment_method or "", order.payment_method or ""),
            order.currency,
            money(order.subtotal_cents),
            order.discount_code or "",
            money(order.discount_cents),
            order.shipping_method,
            money(order.shipping_cents),
            money(order.tax_cents),
            "yes" if order.taxes_included else "no",
            money(order.total_cents),
            money(order.refunded_cents),
            items,
            str(sum(line.quantity for line in order.lines)),
            *address_cells(order.shipping_address),
            order.note,
        ]

    return row


def _query(filters: Mapping[str, str]) -> Select[Any]:
    return admin.list_query(filters, shop_zone(get_settings()))


EXPORTER = Exporter(
    kind="orders",
    noun=("order", "orders"),
    area=Area.ORDERS,
    header=HEADER,
    filters=admin.list_filters,
    query=_query,
    make_row=_rows,
    options=(selectinload(Order.lines),),
)
