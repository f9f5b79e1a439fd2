"""The customers list as a CSV file: one row per customer, filtered and sorted as the
list is (`services.list_query`), with the default address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import selectinload

from saas.money import file_amount
from tenants.customers import services
from tenants.customers.models import Customer
from tenants.exports.exporter import Exporter
from tenants.orders.export import ADDRESS_COLUMNS, address_cells
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area

HEADER = (
    "Name",
    "Email",
    "Phone",
    "Account",
    "Accepts marketing",
    "Orders",
    "Total spent",
    "Currency",
    "Tags",
    "Note",
    "Created at",
    *(f"Default address {label}" for _, label in ADDRESS_COLUMNS),
)


def _rows() -> Callable[[Any], list[str]]:
    settings = get_settings()
    zone, currency = shop_zone(settings), settings.currency

    def row(result: Any) -> list[str]:
        customer, orders, spent = result
        address = next((a for a in customer.addresses if a.is_default), None) or next(
            iter(customer.addresses), None
        )
        return [
            customer.name,
            customer.email,
            customer.phone,
            "yes" if customer.has_account else "no",
            "yes" if customer.accepts_marketing else "no",
            str(orders),
            file_amount(spent, currency),
            currency,
            ", ".join(customer.tags or []),
            customer.note,
            customer.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            *address_cells(address),
        ]

    return row


EXPORTER = Exporter(
    kind="customers",
    noun=("customer", "customers"),
    area=Area.CUSTOMERS,
    header=HEADER,
    filters=services.list_filters,
    query=services.list_query,
    make_row=_rows,
    options=(selectinload(Customer.addresses),),
)
