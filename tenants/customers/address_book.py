"""A customer's address book: the addresses checkout offers them, one of them the default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update

from saas.db import db
from tenants.customers.models import Customer, CustomerAddress
from tenants.customers.problems import CustomerProblem
from tenants.geo import addresses as address_rules

MAX_ADDRESSES = 30

# An address-book entry has the keys of an order's address (`tenants.geo.addresses.FIELDS`).
ADDRESS_FIELDS = tuple(address_rules.FIELDS)


def check_address(form: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(cleaned values, errors by field) for an address-book entry.

    Checkout's own rules (`tenants.geo.addresses`: required fields, regions and
    postal codes per country), so an address saved here is one checkout accepts.
    """
    return address_rules.validate_address(form)


def address_of(customer: Customer, address_id: int) -> CustomerAddress | None:
    """One of the customer's own addresses (never another customer's)."""
    return db.session.scalar(
        select(CustomerAddress).where(
            CustomerAddress.id == address_id, CustomerAddress.customer_id == customer.id
        )
    )


def addresses(customer: Customer) -> list[CustomerAddress]:
    """The customer's addresses, the default first."""
    return list(
        db.session.scalars(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == customer.id)
            .order_by(CustomerAddress.is_default.desc(), CustomerAddress.id)
        )
    )


def default_address(customer: Customer) -> CustomerAddress | None:
    """The address checkout fills in for the customer, if they chose one."""
    return db.session.scalar(
        select(CustomerAddress).where(
            CustomerAddress.customer_id == customer.id, CustomerAddress.is_default.is_(True)
        )
    )


def address_dict(address: CustomerAddress) -> dict[str, str]:
    """An address as plain data (what an order keeps a copy of, and a form shows)."""
    return {name: getattr(address, name) or "" for name in ADDRESS_FIELDS}


def _make_default(customer: Customer, address: CustomerAddress) -> None:
    db.session.execute(
        update(CustomerAddress)
        .where(CustomerAddress.customer_id == customer.id, CustomerAddress.id != address.id)
        .values(is_default=False)
        .execution_options(synchronize_session=False)
    )
    address.is_default = True


def add_address(
    customer: Customer, form: Mapping[str, Any], *, default: bool = False
) -> CustomerAddress:
    """Add an address to the book (the first one becomes the default). Raises CustomerProblem."""
    values, errors = check_address(form)
    count = db.session.scalar(
        select(func.count()).where(CustomerAddress.customer_id == customer.id)
    )
    if not errors and (count or 0) >= MAX_ADDRESSES:
        errors[""] = f"Your address book is full ({MAX_ADDRESSES} addresses). Delete one first."
    if errors:
        raise CustomerProblem(errors)
    address = CustomerAddress(customer_id=customer.id, is_default=False, **values)
    db.session.add(address)
    db.session.flush()
    if default or not count:
        _make_default(customer, address)
    return address


def update_address(
    customer: Customer, address: CustomerAddress, form: Mapping[str, Any], *, default: bool = False
) -> None:
    """Change one of the customer's addresses. Raises CustomerProblem."""
    values, errors = check_address(form)
    if errors:
        raise CustomerProblem(errors)
    for name, value in values.items():
        setattr(address, name, value)
    if default:
        _make_default(customer, address)


def set_default_address(customer: Customer, address: CustomerAddress) -> None:
    """Make `address` the one checkout fills in."""
    _make_default(customer, address)


def delete_address(customer: Customer, address: CustomerAddress) -> None:
    """Remove an address; if it was the default, the oldest remaining one takes over."""
    was_default = address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        successor = db.session.scalar(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == customer.id)
            .order_by(CustomerAddress.id)
            .limit(1)
        )
        if successor is not None:
            successor.is_default = True
