"""Money is integer minor units everywhere; this formats it for people and reads what
they type (in the shop's locale, through Babel)."""

from __future__ import annotations

import re
from contextlib import suppress
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_currency_symbol,
    get_group_symbol,
    parse_decimal,
)

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}
ZERO_DECIMAL = {"JPY", "KRW"}


def format_money(minor_units: int, currency: str = "USD") -> str:
    """12345, 'USD' -> '$123.45'."""
    exponent = 0 if currency in ZERO_DECIMAL else 2
    amount = Decimal(minor_units).scaleb(-exponent)
    symbol = SYMBOLS.get(currency)
    text = f"{amount:,.{exponent}f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


# --- reading amounts that people type ---------------------------------------------

DEFAULT_LOCALE = "en_US"


class MoneyError(ValueError):
    """An amount that cannot be read; the message is meant for the person who typed it."""


@lru_cache(maxsize=512)
def locale_for_country(country: str | None) -> str:
    """The locale whose number conventions a shop's merchant types in: 'DE' -> 'de_DE'.

    Shops have no language setting, so this is CLDR's likeliest language of the shop's
    country (Babel's likely-subtags, e.g. 'CH' -> 'de_CH', 'BE' -> 'nl_BE'), falling back
    to en_US for a shop with no country yet.
    """
    if not country:
        return DEFAULT_LOCALE
    try:
        locale = Locale.parse(f"und_{country.upper()}")
    except (ValueError, UnknownLocaleError):
        return DEFAULT_LOCALE
    return f"{locale.language}_{locale.territory}" if locale.territory else DEFAULT_LOCALE


def exponent(currency: str) -> int:
    """How many decimals the currency's minor units have (the storage's, not CLDR's)."""
    return 0 if currency in ZERO_DECIMAL else 2


def format_amount(minor_units: int, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """Minor units as people type them in `locale`: 123456 -> '1,234.56' / '1.234,56'."""
    places = exponent(currency)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    amount = Decimal(minor_units).scaleb(-places)
    return format_decimal(amount, format=pattern, locale=locale, decimal_quantization=False)


def file_amount(minor_units: int, currency: str) -> str:
    """Minor units as files (CSV exports, Shopify's format) write them, whatever the
    shop's locale: 123450 -> '1234.50' (no symbol, no grouping, a dot)."""
    places = exponent(currency)
    if not places:
        return str(minor_units)
    whole, part = divmod(minor_units, 10**places)
    return f"{whole}.{part:0{places}d}"


def amount_example(currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """An example amount for form hints, written the way the shop's locale writes it."""
    return format_amount(1250 if exponent(currency) else 1200, currency, locale)


def _currency_marks(currency: str, locale: str) -> list[str]:
    """The shop's currency as people may type it beside an amount, longest first."""
    marks = {currency, SYMBOLS.get(currency, currency)}
    for where in (locale, DEFAULT_LOCALE):
        with suppress(ValueError, UnknownLocaleError):
            marks.add(get_currency_symbol(currency, where))
    return sorted((m for m in marks if m), key=len, reverse=True)


def parse_money(
    text: str,
    currency: str,
    locale: str = DEFAULT_LOCALE,
    *,
    maximum: int,
    what: str = "an amount",
) -> int:
    """An amount typed in `locale` ('12,50 €', '$1,234.50', '1 234,50') in minor units.

    Babel reads the number with the locale's separators (strict: a grouping that does not
    fit the locale, like '12,50' in en_US or '12.50' in de_DE, is refused with Babel's
    suggestions rather than read as 1,250). MoneyError, with a message naming `what` (the
    amount with its article: "a price", "the order value"), for an empty, unreadable,
    negative or too precise amount, or one above `maximum` (minor units).
    """
    example = amount_example(currency, locale)
    raw = " ".join((text or "").split())
    if not raw:
        raise MoneyError(f"Enter {what}, like {example}.")
    number = raw
    for mark in _currency_marks(currency, locale):
        number = number.replace(mark, "")
    number = number.strip()
    negative = number.startswith(("-", "\u2212"))
    number = number.lstrip("-\u2212").strip()
    group = get_group_symbol(locale)
    if group.isspace():
        # What people type between thousands is a plain space, not the locale's NBSP.
        number = re.sub(r"(?<=\d)\s(?=\d)", group, number)
    try:
        if re.search(r"[^\W\d]", number):  # Decimal itself would take '1e5' or '1_000'
            raise NumberFormatError(number)
        value = parse_decimal(number, locale=locale, strict=True)
    except NumberFormatError as error:
        hint = ""
        if error.suggestions:
            hint = " Did you mean " + " or ".join(f"“{s}”" for s in error.suggestions) + "?"
        raise MoneyError(
            f"“{raw}” cannot be read as {what}.{hint} Write it like {example}."
        ) from None
    if not value.is_finite():
        raise MoneyError(f"“{raw}” cannot be read as {what}. Write it like {example}.")
    if negative and value:
        raise MoneyError(f"The {what.split(' ', 1)[1]} cannot be negative.")
    places = exponent(currency)
    minor = value.scaleb(places)
    if minor != minor.to_integral_value():
        if not places:
            raise MoneyError(
                f"“{raw}” has decimals: {what} in {currency} is a whole number, like {example}."
            )
        raise MoneyError(
            f"“{raw}” has too many decimals: {what} in {currency} has at most {places}, "
            f"like {example}."
        )
    if minor > maximum:
        most = format_amount(maximum, currency, locale)
        raise MoneyError(f"“{raw}” is too large: {what} can be at most {most}.")
    return int(minor)
