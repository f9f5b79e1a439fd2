"""Amounts typed by people, read in the shop's locale by Babel (saas/money.py)."""

from __future__ import annotations

import pytest

from saas.money import (
    MoneyError,
    amount_example,
    format_amount,
    locale_for_country,
    parse_money,
)

MAX = 100_000_000  # the catalog's: 1,000,000.00


def read(text: str, currency: str = "USD", locale: str = "en_US") -> int:
    return parse_money(text, currency, locale, maximum=MAX, what="a price")


@pytest.mark.parametrize(
    ("locale", "currency", "typed", "cents"),
    [
        ("en_US", "USD", "12.50", 1250),
        ("en_US", "USD", "$12", 1200),
        ("en_US", "USD", "$ 12.5", 1250),
        ("en_US", "USD", "1,234.50", 123450),
        ("en_US", "USD", "USD 7", 700),
        ("en_US", "USD", "  0.07 ", 7),
        # en: the comma groups thousands, so "1,234" is 1234 and "1.234" is 1.234.
        ("en_US", "USD", "1,234", 123400),
        ("de_DE", "EUR", "12,50", 1250),
        ("de_DE", "EUR", "12,50 €", 1250),
        ("de_DE", "EUR", "1.234,50", 123450),
        # de: the dot groups thousands, so "1.234" is 1234 euros.
        ("de_DE", "EUR", "1.234", 123400),
        ("fr_FR", "EUR", "12,50", 1250),
        ("fr_FR", "EUR", "1 234,50", 123450),  # a plain space, as people type it
        ("fr_FR", "EUR", "1\u202f234,50 €", 123450),  # the locale's own narrow space
        ("fr_FR", "EUR", "12.50", 1250),  # Babel takes the dot as the decimal in fr
        ("de_CH", "CHF", "1'234.50", 123450),
        ("ja_JP", "JPY", "¥1,200", 1200),
        ("en_GB", "GBP", "£9.99", 999),
    ],
)
def test_typed_amounts_are_read_in_the_shops_locale(locale, currency, typed, cents):
    assert read(typed, currency, locale) == cents


@pytest.mark.parametrize(
    ("locale", "currency", "typed", "message"),
    [
        ("en_US", "USD", "", "Enter a price, like 12.50."),
        ("en_US", "USD", "abc", "“abc” cannot be read as a price. Write it like 12.50."),
        # A grouping that does not fit the locale is refused with Babel's suggestions,
        # never silently read as 1,250.
        (
            "en_US",
            "USD",
            "12,50",
            "“12,50” cannot be read as a price. Did you mean “1,250” or “12.5”? "
            "Write it like 12.50.",
        ),
        (
            "de_DE",
            "EUR",
            "12.50",
            "“12.50” cannot be read as a price. Did you mean “1.250” or “12,5”? "
            "Write it like 12,50.",
        ),
        (
            "en_US",
            "USD",
            "1.234",
            "“1.234” has too many decimals: a price in USD has at most 2, like 12.50.",
        ),
        ("ja_JP", "JPY", "1200.5", "“1200.5” has decimals: a price in JPY is a whole number"),
        ("en_US", "USD", "-3", "The price cannot be negative."),
        ("en_US", "USD", "$-3", "The price cannot be negative."),
        ("en_US", "USD", "1e5", "“1e5” cannot be read as a price."),
        ("en_US", "USD", "1_000", "“1_000” cannot be read as a price."),
        ("en_US", "USD", "NaN", "“NaN” cannot be read as a price."),
        ("en_US", "USD", "€12", "“€12” cannot be read as a price."),  # not the shop's
        (
            "en_US",
            "USD",
            "2,000,000",
            "“2,000,000” is too large: a price can be at most 1,000,000.00.",
        ),
        (
            "de_DE",
            "EUR",
            "99999999999",
            "“99999999999” is too large: a price can be at most 1.000.000,00.",
        ),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_message(locale, currency, typed, message):
    with pytest.raises(MoneyError) as refused:
        read(typed, currency, locale)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("country", "locale"),
    [("US", "en_US"), ("DE", "de_DE"), ("FR", "fr_FR"), ("CH", "de_CH"), ("BE", "nl_BE"),
     ("JP", "ja_JP"), ("", "en_US"), (None, "en_US"), ("ZZ", "en_US")],
)  # fmt: skip
def test_the_locale_follows_the_shops_country(country, locale):
    assert locale_for_country(country) == locale


def test_amounts_are_written_back_as_they_are_read():
    for locale, currency in [("en_US", "USD"), ("de_DE", "EUR"), ("fr_FR", "EUR"),
                             ("de_CH", "CHF"), ("ja_JP", "JPY")]:  # fmt: skip
        for cents in (0, 7, 1250, 123456, MAX):
            written = format_amount(cents, currency, locale)
            assert read(written, currency, locale) == cents, (locale, written)
    assert format_amount(123450, "EUR", "de_DE") == "1.234,50"
    assert amount_example("EUR", "de_DE") == "12,50"
    assert amount_example("USD", "en_US") == "12.50"
    assert amount_example("JPY", "ja_JP") == "1,200"
