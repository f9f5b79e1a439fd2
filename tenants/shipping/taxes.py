"""Taxes on an order: which rates apply, how much each one is, and how it is rounded.

Which rates: every rate of the address's country without a region (country-wide), plus
every rate of the address's region (its ISO 3166-2 code). They add up, each on the same
base (never tax on tax), each shown as its own line on the order: an order to Vancouver
pays Canada's GST (5 %, country-wide) and British Columbia's PST (7 %, region CA-BC); a
US shop enters state rates only and no country-wide rate. A country without rates is
not taxed.

Prices with or without tax (`ShopSettings.prices_include_tax`):

* without: rate i adds `amount * rate_i` on top of the amount;
* with: the tax is already inside the amount and is taken out of it: with the rates
  summing to R, rate i's part is `amount * rate_i / (1 + R)` (for one rate, exactly
  `amount - amount / (1 + rate)`). The shopper pays the price shown, wherever the order
  goes; where no rate applies, nothing is taken out.

Rounding: half up to the minor unit, per line and per rate, then summed per rate (what
the order's lines show adds up to the order's tax). Three lines of 9.99 at 20 %:
added on top, each line's 1.998 is 2.00, 6.00 in all (not 5.99 from 29.97 * 20 %);
included, each line's 1.665 is 1.67, 5.01 in all.

Shipping is taxed when `ShopSettings.tax_shipping` is on: as one more line, entered
the same way as the catalog's prices (with or without tax).

Discounts lower what is taxed: pass each line's amount after its discount;
`spread_discount` shares an order-wide discount over the lines.

Everything is integer minor units; the one division goes through `Decimal`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from saas.db import db
from tenants.accounts.problems import FormInvalid
from tenants.geo import addresses
from tenants.settings.models import ShopSettings
from tenants.settings.services import COUNTRY_CODES
from tenants.shipping.models import TaxRate

BASIS = 10_000  # basis points in a whole: 2000 bp is 20 %


@dataclass(frozen=True)
class TaxResult:
    """The taxes of one order.

    `lines` is what the order stores in `tax_lines` and shows:
    [{"name": "VAT 20%", "rate_bp": 2000, "amount_cents": 501}]. `total_cents` is their
    sum; with `included` it is already inside the prices (do not add it to the total).
    `line_cents[i]` is the tax in the i-th line given (`OrderLine.tax_cents`) and
    `shipping_cents` the tax on shipping (0 unless shipping is taxed).
    """

    lines: list[dict[str, Any]] = field(default_factory=list)
    total_cents: int = 0
    included: bool = False
    line_cents: list[int] = field(default_factory=list)
    shipping_cents: int = 0


def _half_up(numerator: int, denominator: int) -> int:
    return int((Decimal(numerator) / Decimal(denominator)).to_integral_value(ROUND_HALF_UP))


def format_percent(rate_bp: int) -> str:
    """2000 -> "20", 825 -> "8.25", 550 -> "5.5"."""
    return f"{Decimal(rate_bp).scaleb(-2).normalize():f}"


def line_name(name: str, rate_bp: int) -> str:
    """The name an order shows for a rate: "VAT 20%"."""
    return f"{name} {format_percent(rate_bp)}%"


def apply_rates(
    amounts: Sequence[int],
    shipping_cents: int,
    rates: Sequence[tuple[str, int]],
    *,
    included: bool,
    tax_shipping: bool,
) -> TaxResult:
    """The taxes of lines worth `amounts` (after discounts) and of shipping, for the given
    (name, rate in basis points) rates, all applying together (see the module's notes)."""
    rates = [(name, bp) for name, bp in rates if bp > 0]
    total_bp = sum(bp for _, bp in rates)
    divisor = BASIS + total_bp if included else BASIS
    by_rate: dict[tuple[str, int], int] = {}
    for name, bp in rates:
        by_rate.setdefault((name, bp), 0)

    def tax_of(amount: int) -> int:
        taxed = 0
        for name, bp in rates:
            part = _half_up(max(amount, 0) * bp, divisor)
            by_rate[(name, bp)] += part
            taxed += part
        return taxed

    line_cents = [tax_of(amount) for amount in amounts]
    shipping_tax = tax_of(shipping_cents) if tax_shipping else 0
    lines: list[dict[str, Any]] = [
        {"name": line_name(name, bp), "rate_bp": bp, "amount_cents": amount}
        for (name, bp), amount in by_rate.items()
        if amount > 0
    ]
    return TaxResult(
        lines=lines,
        total_cents=sum(line["amount_cents"] for line in lines),
        included=included,
        line_cents=line_cents,
        shipping_cents=shipping_tax,
    )


def rates_for(address: Mapping[str, Any] | Any) -> list[TaxRate]:
    """The tax rates of `address`: country-wide ones first, then its region's."""
    country, region = addresses.country_and_region(address)
    if country not in COUNTRY_CODES:
        return []
    return list(
        db.session.scalars(
            select(TaxRate)
            .where(TaxRate.country == country, TaxRate.region.in_(("", region)))
            .order_by(TaxRate.region, TaxRate.id)
        )
    )


def compute(
    lines: Sequence[int],
    shipping_cents: int,
    address: Mapping[str, Any] | Any,
    settings: ShopSettings,
) -> TaxResult:
    """The taxes of an order.

    Args:
        lines: each line's amount in minor units after its discounts
            (unit price * quantity - line discount; see `spread_discount`).
        shipping_cents: the chosen shipping option's price.
        address: where the order goes (a dict or object with `country` and `region`);
            for local pickup, the shop's own (`shipping.pickup_address(settings)`).
        settings: the shop's settings (`prices_include_tax`, `tax_shipping`).
    """
    rates = [(rate.name, rate.rate_bp) for rate in rates_for(address)]
    return apply_rates(
        lines,
        shipping_cents,
        rates,
        included=settings.prices_include_tax,
        tax_shipping=settings.tax_shipping,
    )


def spread_discount(discount_cents: int, amounts: Sequence[int]) -> list[int]:
    """`amounts` after sharing an order-wide discount over them in proportion.

    Shares are rounded down, then the cents left go one each to the lines with the
    largest remainders (the first such line on a tie), so the shares add up to the
    discount exactly; no line goes below zero.
    """
    amounts = [max(a, 0) for a in amounts]
    total = sum(amounts)
    discount = min(max(discount_cents, 0), total)
    if not total or not discount:
        return list(amounts)
    shares = [a * discount // total for a in amounts]
    remainders = sorted(range(len(amounts)), key=lambda i: (-(amounts[i] * discount % total), i))
    for i in remainders[: discount - sum(shares)]:
        shares[i] += 1
    return [a - s for a, s in zip(amounts, shares, strict=True)]


# --- the back office's forms ---------------------------------------------------------


class TaxFormInvalid(FormInvalid):
    """A tax form has mistakes; `errors` maps field names to messages."""


NAME_MAX = 100
_PERCENT = re.compile(r"([0-9]{1,3})(?:[.,]([0-9]{1,3}))?")


def parse_percent(text: str) -> int:
    """A rate typed as a percentage ("20", "8.25", "7.5 %") in basis points.

    Raises:
        ValueError: with a message for the merchant.
    """
    compact = (text or "").replace("%", "").strip()
    match = _PERCENT.fullmatch(compact)
    if not match:
        raise ValueError("Enter the rate as a percentage, like 20 or 8.25.")
    whole, fraction = match.group(1), (match.group(2) or "").ljust(3, "0")
    thousandths = int(whole) * 1000 + int(fraction)
    if thousandths > 100_000:
        raise ValueError("A rate cannot be more than 100 %.")
    if thousandths % 10:
        # The column keeps basis points (hundredths of a percent).
        raise ValueError(
            f"Rates are kept to a hundredth of a percent: {compact} % cannot be stored "
            "exactly. Enter at most 2 decimals, like 8.25."
        )
    return thousandths // 10


def tax_form_values(rate: TaxRate | None, shop_country: str = "") -> dict[str, str]:
    if rate is None:
        return {"country": shop_country, "region": "", "name": "", "rate": ""}
    return {
        "country": rate.country,
        "region": rate.region,
        "name": rate.name,
        "rate": format_percent(rate.rate_bp),
    }


def region_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """(country name, [(code, region name)]) for the countries whose regions are listed."""
    countries = sorted(
        (c for c in COUNTRY_CODES if addresses.has_regions(c)), key=addresses.country_name
    )
    return [(addresses.country_name(c), addresses.regions(c)) for c in countries]


def save_tax_rate(rate: TaxRate | None, form: Mapping[str, Any]) -> TaxRate:
    """Create (rate None) or update a tax rate from its form. Flushes; the caller commits.

    Raises:
        TaxFormInvalid: with a message per wrong field; nothing was changed.
    """
    errors: dict[str, str] = {}
    country = str(form.get("country") or "").strip().upper()
    if country not in COUNTRY_CODES:
        errors["country"] = "Choose a country."
    region_text = str(form.get("region") or "").strip()
    region = ""
    if region_text and "country" not in errors:
        if not addresses.has_regions(country):
            errors["region"] = (
                f"{addresses.country_name(country)} has no list of regions here: leave the "
                "region empty for a rate on the whole country."
            )
        else:
            code = addresses.region_code(country, region_text)
            if code is None:
                errors["region"] = (
                    f"Choose a region of {addresses.country_name(country)}, or none for the "
                    "whole country."
                )
            else:
                region = code
    name = " ".join(str(form.get("name") or "").split())
    if not name:
        errors["name"] = "Enter the name shown on orders, like VAT or Sales tax."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Use at most {NAME_MAX} characters."
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        errors["name"] = "The name cannot contain control characters."
    rate_bp = 0
    try:
        rate_bp = parse_percent(str(form.get("rate") or ""))
    except ValueError as error:
        errors["rate"] = str(error)
    if not errors:
        same = db.session.scalar(
            select(TaxRate.id).where(
                TaxRate.country == country,
                TaxRate.region == region,
                func.lower(TaxRate.name) == name.lower(),
                TaxRate.id != (rate.id if rate else 0),
            )
        )
        if same is not None:
            where = (
                addresses.region_name(country, region)
                if region
                else (addresses.country_name(country))
            )
            errors["name"] = f"There is already a rate named “{name}” for {where}."
    if errors:
        raise TaxFormInvalid(errors)
    if rate is None:
        rate = TaxRate()
        db.session.add(rate)
    rate.country, rate.region, rate.name, rate.rate_bp = country, region, name, rate_bp
    db.session.flush()
    return rate


def update_tax_settings(form: Mapping[str, Any], settings: ShopSettings) -> list[str]:
    """Apply the "prices include tax" and "tax shipping" switches; the changed fields."""
    changed = []
    for name in ("prices_include_tax", "tax_shipping"):
        value = form.get(name) == "1"
        if getattr(settings, name) != value:
            setattr(settings, name, value)
            changed.append(name)
    db.session.flush()
    return changed
