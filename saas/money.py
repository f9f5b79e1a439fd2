"""Money is integer minor units everywhere; this only formats it for people."""

from __future__ import annotations

from decimal import Decimal

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}
ZERO_DECIMAL = {"JPY", "KRW"}


def format_money(minor_units: int, currency: str = "USD") -> str:
    """12345, 'USD' -> '$123.45'."""
    exponent = 0 if currency in ZERO_DECIMAL else 2
    amount = Decimal(minor_units).scaleb(-exponent)
    symbol = SYMBOLS.get(currency)
    text = f"{amount:,.{exponent}f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"
