"""What customers say about themselves in their account: their name, the newsletter
choice and (while the points programme gives a birthday bonus) their birthday; and the
one-line text check the customers' forms share."""

from __future__ import annotations

from datetime import date

from tenants.customers.models import Customer
from tenants.customers.problems import CustomerProblem

MAX_NAME = 200


def text_problem(value: str, label: str, max_length: int, *, required: bool) -> str | None:
    """Why a one-line text input cannot be kept, or None."""
    if required and not value:
        return f"Enter {label}."
    if len(value) > max_length:
        return f"Use at most {max_length} characters."
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "Remove the control characters."
    return None


def update_details(
    customer: Customer, name: str, accepts_marketing: bool, birthday: str | None = None
) -> bool:
    """The customer's own name, newsletter choice and (when the form asks for it, as
    YYYY-MM-DD; empty to remove it) birthday. Raises CustomerProblem; True if changed."""
    name = " ".join(name.split())
    errors: dict[str, str] = {}
    if problem := text_problem(name, "your name", MAX_NAME, required=False):
        errors["name"] = problem
    born = customer.birthday
    if birthday is not None:
        try:
            born = _birthday(birthday)
        except ValueError as error:
            errors["birthday"] = str(error)
    if errors:
        raise CustomerProblem(errors)
    changed = (name, accepts_marketing, born) != (
        customer.name,
        customer.accepts_marketing,
        customer.birthday,
    )
    customer.name = name
    customer.accepts_marketing = accepts_marketing
    customer.birthday = born
    return changed


def _birthday(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        born = date.fromisoformat(text)
    except ValueError:
        raise ValueError("Enter your birthday as a date, like 1990-04-23.") from None
    if not date(1900, 1, 1) <= born <= date.today():
        raise ValueError("Enter a birthday between 1900 and today.")
    return born
