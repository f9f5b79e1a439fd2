"""Where the shop ships and what it costs: zones, rates, local pickup.

Which zone serves an address:

* a zone lists countries; its optional regions (ISO 3166-2 codes, "US-CA") narrow the
  countries they belong to down to those regions; a listed country none of whose
  regions are listed is served whole. A zone of {US, CA} with regions {US-CA, US-OR}
  serves California, Oregon and all of Canada.
* the most specific zone wins: zones that name the address's region beat zones that
  serve its whole country. There is no falling back: when the region's zone has no rate
  for this order (too heavy, say), the country-wide zone is not asked instead, because
  the merchant set that region apart on purpose.
* the back office keeps one zone per country and one per region
  (`save_zone` refuses overlaps); should old data overlap anyway, the rates of every
  zone at the winning level are offered.

Which of the zone's rates apply: flat ones always; weight ones when the order's weight
in grams is within [min_value, max_value], and price ones when its subtotal is (both
ends included; no maximum means no upper limit). A rate costs nothing once the subtotal
reaches its `free_over_cents`. The subtotal is the goods after discounts, before
shipping and tax: what the shopper actually pays for the items.

Local pickup, when the shop offers it, is always one of the options, whatever the
address: it is free, and its instructions say where and when.

Prices are recomputed from the database on every call: the checkout keeps only the
chosen option's key and asks `option_by_key` again at each step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import String, any_, literal, select
from sqlalchemy.orm import selectinload

from saas.db import db
from saas.money import format_money
from tenants.accounts.problems import FormInvalid
from tenants.catalog.products import ProductError, format_amount, parse_price
from tenants.geo import addresses
from tenants.settings.models import ShopSettings
from tenants.settings.services import COUNTRY_CODES
from tenants.shipping.models import RateKind, ShippingRate, ShippingZone

PICKUP_KEY = "pickup"
PICKUP_NAME = "Local pickup"


@dataclass(frozen=True)
class ShippingOption:
    """One way the order can reach the shopper, priced for this order.

    `key` identifies it across requests ("rate-12", "pickup"); `kind` is a `RateKind`
    value or "pickup"; `instructions` is set for pickup.
    """

    key: str
    name: str
    price_cents: int
    kind: str
    zone_name: str = ""
    rate_id: int | None = None
    instructions: str = ""

    @property
    def id(self) -> str:
        return self.key

    @property
    def is_pickup(self) -> bool:
        return self.kind == PICKUP_KEY


def matching_zones(address: Mapping[str, Any] | Any) -> list[ShippingZone]:
    """The zones serving `address`, most specific level only (see the module's notes)."""
    country, region = addresses.country_and_region(address)
    if country not in COUNTRY_CODES:
        return []
    zones = db.session.scalars(
        select(ShippingZone)
        .where(literal(country, String) == any_(ShippingZone.countries))
        .options(selectinload(ShippingZone.rates))
        .order_by(ShippingZone.id)
    ).all()
    by_region: list[ShippingZone] = []
    whole: list[ShippingZone] = []
    for zone in zones:
        own = [r for r in zone.regions if r.startswith(f"{country}-")]
        if not own:
            whole.append(zone)
        elif region in own:
            by_region.append(zone)
    return by_region or whole


def ships_to(address: Mapping[str, Any] | Any) -> bool:
    """Whether a zone serves `address` at all (even if no rate fits this order)."""
    return bool(matching_zones(address))


def rate_applies(rate: ShippingRate, subtotal_cents: int, weight_grams: int) -> bool:
    if rate.kind == RateKind.FLAT:
        return True
    if rate.kind == RateKind.WEIGHT:
        value = weight_grams
    elif rate.kind == RateKind.PRICE:
        value = subtotal_cents
    else:  # a kind this code does not know: never guess a price
        return False
    return rate.min_value <= value and (rate.max_value is None or value <= rate.max_value)


def rate_price(rate: ShippingRate, subtotal_cents: int) -> int:
    if rate.free_over_cents is not None and subtotal_cents >= rate.free_over_cents:
        return 0
    return rate.price_cents


def options(
    address: Mapping[str, Any] | Any,
    subtotal_cents: int,
    weight_grams: int,
    settings: ShopSettings,
) -> list[ShippingOption]:
    """The shipping options for an order going to `address`, cheapest first.

    Args:
        address: a dict or object with `country` and `region` (a cleaned address).
        subtotal_cents: the goods after discounts, before shipping and tax.
        weight_grams: the order's total weight (variants without a weight count 0).
        settings: the shop's settings (local pickup).

    Returns:
        The options; local pickup last when the shop offers it. An empty list means
        the shop does not ship there (or no rate fits, see `ships_to`).
    """
    found = [
        ShippingOption(
            key=f"rate-{rate.id}",
            name=rate.name,
            price_cents=rate_price(rate, subtotal_cents),
            kind=rate.kind,
            zone_name=zone.name,
            rate_id=rate.id,
        )
        for zone in matching_zones(address)
        for rate in zone.rates
        if rate_applies(rate, subtotal_cents, weight_grams)
    ]
    found.sort(key=lambda o: (o.price_cents, o.name.casefold(), o.rate_id or 0))
    if settings.local_pickup:
        found.append(
            ShippingOption(
                key=PICKUP_KEY,
                name=PICKUP_NAME,
                price_cents=0,
                kind=PICKUP_KEY,
                instructions=settings.pickup_instructions or "",
            )
        )
    return found


def option_by_key(
    key: str,
    address: Mapping[str, Any] | Any,
    subtotal_cents: int,
    weight_grams: int,
    settings: ShopSettings,
) -> ShippingOption | None:
    """The option `key` priced again for this order, or None if it no longer applies
    (the rate was deleted, the cart got heavier, the address changed...)."""
    for option in options(address, subtotal_cents, weight_grams, settings):
        if option.key == key:
            return option
    return None


def pickup_address(settings: ShopSettings) -> dict[str, str]:
    """The shop's own address as an address dict: where a pickup order is taxed."""
    country = (settings.country or "").upper()
    return {
        "name": "",
        "company": "",
        "line1": settings.address_line1 or "",
        "line2": settings.address_line2 or "",
        "city": settings.city or "",
        "region": addresses.region_code(country, settings.region or "") or settings.region or "",
        "postal_code": settings.postal_code or "",
        "country": country,
        "phone": "",
    }


# --- the back office's forms ---------------------------------------------------------


class ShippingFormInvalid(FormInvalid):
    """A shipping form has mistakes; `errors` maps field names to messages."""


# Ticked in the zone form; any other country is typed as a code.
COMMON_COUNTRIES = "US CA MX GB IE FR DE NL BE LU ES PT IT AT CH DK SE NO FI PL AU NZ JP"
NAME_MAX = 100
MAX_REGIONS = 300
MAX_KG = Decimal(100_000)  # far above any parcel, well inside the integer column
PICKUP_INSTRUCTIONS_MAX = 2000


def _text(form: Mapping[str, Any], name: str) -> str:
    return " ".join(str(form.get(name) or "").split())


def _getlist(form: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    if getlist is not None:
        return [str(v) for v in getlist(name)]
    value = form.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _check_name(value: str, label: str, errors: dict[str, str], key: str = "name") -> None:
    if not value:
        errors[key] = f"Enter a {label}."
    elif len(value) > NAME_MAX:
        errors[key] = f"Use at most {NAME_MAX} characters."
    elif any(ord(c) < 32 or ord(c) == 127 for c in value):
        errors[key] = "The name cannot contain control characters."


def common_countries(shop_country: str = "") -> list[tuple[str, str]]:
    """(code, name) of the countries the zone form offers as checkboxes."""
    codes = sorted(set(COMMON_COUNTRIES.split()) - {shop_country}, key=addresses.country_name)
    if shop_country in COUNTRY_CODES:  # the shop's own country first
        codes.insert(0, shop_country)
    return [(code, addresses.country_name(code)) for code in codes]


def zone_form_values(zone: ShippingZone | None, shop_country: str = "") -> dict[str, Any]:
    """What the zone form shows: `countries` (ticked codes) plus text fields."""
    if zone is None:
        return {
            "name": "",
            "countries": [shop_country] if shop_country in COUNTRY_CODES else [],
            "other_countries": "",
            "regions": "",
        }
    ticked = {code for code, _ in common_countries(shop_country)}
    return {
        "name": zone.name,
        "countries": [c for c in zone.countries if c in ticked],
        "other_countries": ", ".join(c for c in zone.countries if c not in ticked),
        "regions": ", ".join(zone.regions),
    }


def zone_form_input(form: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted zone form, as `zone_form_values` shapes it (to show it again)."""
    return {
        "name": str(form.get("name") or ""),
        "countries": _getlist(form, "countries"),
        "other_countries": str(form.get("other_countries") or ""),
        "regions": str(form.get("regions") or ""),
    }


def _tokens(text: str, pattern: str) -> list[str]:
    return [t.strip() for t in re.split(pattern, text or "") if t.strip()]


def _parse_countries(form: Mapping[str, Any], errors: dict[str, str]) -> list[str]:
    chosen: list[str] = []
    unknown: list[str] = []
    typed = _tokens(str(form.get("other_countries") or ""), r"[\s,;]+")
    for raw in [*_getlist(form, "countries"), *typed]:
        code = raw.strip().upper()
        if code in COUNTRY_CODES:
            if code not in chosen:
                chosen.append(code)
        elif raw not in unknown:
            unknown.append(raw)
    if unknown:
        listed = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        errors["other_countries"] = (
            f"Unknown country code{'s' if len(unknown) > 1 else ''}: {listed}. "
            "Use two-letter codes like MX or BR, separated by commas."
        )
    elif not chosen:
        errors["countries"] = "Choose at least one country."
    return sorted(chosen)


def _parse_regions(text: str, countries: list[str], errors: dict[str, str]) -> list[str]:
    problems: list[str] = []
    found: list[str] = []
    listed = [c for c in countries if addresses.has_regions(c)]
    for token in _tokens(text, r"[,;\n]+"):
        prefix = token[:2].upper() if re.match(r"^[A-Za-z]{2}-", token) else ""
        code: str | None = None
        if prefix:
            if prefix not in countries:
                problems.append(
                    f"{token.upper()} is in {addresses.country_name(prefix)}, "
                    "which this zone does not include."
                )
                continue
            if not addresses.has_regions(prefix):
                problems.append(
                    f"{addresses.country_name(prefix)} addresses have no list of regions, "
                    "so a zone cannot single out part of it."
                )
                continue
            code = addresses.region_code(prefix, token)
        else:
            matches = {addresses.region_code(c, token) for c in listed} - {None}
            code = matches.pop() if len(matches) == 1 else None
        if code is None:
            problems.append(f"“{token}” is not a region of the countries in this zone.")
        elif code not in found:
            found.append(code)
    if problems:
        errors["regions"] = " ".join(problems[:3]) + " Use codes like US-CA or names like Ontario."
    elif len(found) > MAX_REGIONS:
        errors["regions"] = f"A zone can list at most {MAX_REGIONS} regions."
    return found


def _check_overlaps(
    zone_id: int | None, countries: list[str], regions: list[str], errors: dict[str, str]
) -> None:
    others = db.session.scalars(
        select(ShippingZone).where(ShippingZone.id != (zone_id or 0)).order_by(ShippingZone.id)
    ).all()
    for other in others:
        for country in countries:
            if country not in other.countries:
                continue
            mine_whole = not any(r.startswith(f"{country}-") for r in regions)
            theirs_whole = not any(r.startswith(f"{country}-") for r in other.regions)
            if mine_whole and theirs_whole and "countries" not in errors:
                errors["countries"] = (
                    f"{addresses.country_name(country)} is already in the zone “{other.name}”. "
                    "A country can be in one zone; list regions to set part of it apart."
                )
        for region in regions:
            if region in other.regions and "regions" not in errors:
                country = region.split("-", 1)[0]
                errors["regions"] = (
                    f"{addresses.region_name(country, region)} is already in the zone "
                    f"“{other.name}”."
                )


def save_zone(zone: ShippingZone | None, form: Mapping[str, Any]) -> ShippingZone:
    """Create (zone None) or update a zone from its form. Flushes; the caller commits.

    Raises:
        ShippingFormInvalid: with a message per wrong field; nothing was changed.
    """
    errors: dict[str, str] = {}
    name = _text(form, "name")
    _check_name(name, "name for the zone, like Domestic", errors)
    countries = _parse_countries(form, errors)
    regions = _parse_regions(str(form.get("regions") or ""), countries, errors)
    if not errors:
        _check_overlaps(zone.id if zone else None, countries, regions, errors)
    if errors:
        raise ShippingFormInvalid(errors)
    if zone is None:
        zone = ShippingZone(name=name, countries=countries, regions=regions)
        db.session.add(zone)
    else:
        zone.name, zone.countries, zone.regions = name, countries, regions
    db.session.flush()
    return zone


def grams_to_kg(grams: int | None) -> str:
    """1500 -> "1.5", as the merchant types it."""
    if grams is None:
        return ""
    return f"{Decimal(grams).scaleb(-3).normalize():f}"


def parse_kg(text: str) -> int:
    """Kilograms typed by a merchant ("1.25") in grams (1250); ProductError if not."""
    text = (text or "").strip()
    if not re.fullmatch(r"[0-9]{1,6}(?:\.[0-9]{1,3})?", text) or Decimal(text) > MAX_KG:
        raise ProductError("Enter a weight in kilograms, like 1.5 (at most 3 decimals).")
    return int(Decimal(text) * 1000)


def rate_form_values(rate: ShippingRate | None, currency: str) -> dict[str, str]:
    values = {
        "name": "Standard",
        "kind": RateKind.FLAT.value,
        "price": "",
        "free_over": "",
        "weight_min": "",
        "weight_max": "",
        "price_min": "",
        "price_max": "",
    }
    if rate is None:
        return values
    values.update(
        name=rate.name,
        kind=rate.kind,
        price=format_amount(rate.price_cents, currency),
        free_over=""
        if rate.free_over_cents is None
        else format_amount(rate.free_over_cents, currency),
    )
    if rate.kind == RateKind.WEIGHT:
        values.update(
            weight_min=grams_to_kg(rate.min_value), weight_max=grams_to_kg(rate.max_value)
        )
    elif rate.kind == RateKind.PRICE:
        values.update(
            price_min=format_amount(rate.min_value, currency),
            price_max="" if rate.max_value is None else format_amount(rate.max_value, currency),
        )
    return values


RATE_FIELDS = tuple(rate_form_values(None, "USD"))


def _money(
    form: Mapping[str, Any], name: str, currency: str, errors: dict[str, str], what: str
) -> int | None:
    text = str(form.get(name) or "").strip()
    if not text:
        return None
    try:
        return parse_price(text, currency, what=what)
    except ProductError as error:
        errors[name] = str(error)
        return None


def _range(
    form: Mapping[str, Any], kind: str, currency: str, errors: dict[str, str]
) -> tuple[int, int | None]:
    low_key, high_key = f"{kind}_min", f"{kind}_max"
    low: int | None
    high: int | None
    if kind == RateKind.WEIGHT:
        low = high = None
        for key in (low_key, high_key):
            text = str(form.get(key) or "").strip()
            if not text:
                continue
            try:
                grams = parse_kg(text)
            except ProductError as error:
                errors[key] = str(error)
                continue
            if key == low_key:
                low = grams
            else:
                high = grams
        if high is None and low is None and low_key not in errors and high_key not in errors:
            errors[high_key] = "Enter a weight range: a lowest weight, a highest one, or both."
    else:
        low = _money(form, low_key, currency, errors, "the lowest order value")
        high = _money(form, high_key, currency, errors, "the highest order value")
        if high is None and low is None and low_key not in errors and high_key not in errors:
            errors[high_key] = "Enter an order value range: a lowest value, a highest one, or both."
    low = low or 0
    if high is not None and high < low and high_key not in errors and low_key not in errors:
        errors[high_key] = "The highest value must be at least the lowest one."
    return low, high


def save_rate(
    zone: ShippingZone, rate: ShippingRate | None, form: Mapping[str, Any], currency: str
) -> ShippingRate:
    """Create (rate None) or update a rate of `zone` from its form. Flushes.

    Weights are typed in kilograms and stored in grams; order values in the shop's
    currency, stored in minor units.

    Raises:
        ShippingFormInvalid: with a message per wrong field; nothing was changed.
    """
    errors: dict[str, str] = {}
    name = _text(form, "name")
    _check_name(name, "name shoppers see, like Standard or Express", errors)
    kind = str(form.get("kind") or "")
    if kind not in {k.value for k in RateKind}:
        errors["kind"] = "Choose when the rate applies."
    price = _money(form, "price", currency, errors, "the price")
    if price is None and "price" not in errors:
        errors["price"] = "Enter the price, or 0 for free shipping."
    free_over = _money(form, "free_over", currency, errors, "the order value")
    low, high = 0, None
    if kind in (RateKind.WEIGHT, RateKind.PRICE):
        low, high = _range(form, kind, currency, errors)
    if errors:
        raise ShippingFormInvalid(errors)
    assert price is not None
    if rate is None:
        rate = ShippingRate(zone=zone)
        db.session.add(rate)
    rate.name, rate.kind, rate.price_cents = name, kind, price
    rate.min_value, rate.max_value, rate.free_over_cents = low, high, free_over
    db.session.flush()
    return rate


def rate_condition(rate: ShippingRate, currency: str) -> str:
    """When the rate applies, for people: "1 to 5 kg", "Orders from $50.00", "Every order"."""
    if rate.kind == RateKind.WEIGHT:
        low, high = grams_to_kg(rate.min_value), grams_to_kg(rate.max_value)
        if rate.max_value is None:
            return f"From {low} kg"
        return f"Up to {high} kg" if rate.min_value == 0 else f"{low} to {high} kg"
    if rate.kind == RateKind.PRICE:
        low_m = format_money(rate.min_value, currency)
        if rate.max_value is None:
            return f"Orders from {low_m}"
        high_m = format_money(rate.max_value, currency)
        return f"Orders up to {high_m}" if rate.min_value == 0 else f"Orders {low_m} to {high_m}"
    return "Every order"


def zone_regions_text(zone: ShippingZone) -> str:
    """ "California, Oregon" for the zones list."""
    return ", ".join(addresses.region_name(r.split("-", 1)[0], r) for r in zone.regions)


def zone_countries_text(zone: ShippingZone) -> str:
    return ", ".join(sorted(addresses.country_name(c) for c in zone.countries))


def update_pickup(form: Mapping[str, Any], settings: ShopSettings) -> list[str]:
    """Turn local pickup on or off and set its instructions. Returns the changed fields.

    Raises:
        ShippingFormInvalid: the instructions are too long; nothing was changed.
    """
    enabled = form.get("local_pickup") == "1"
    instructions = str(form.get("pickup_instructions") or "").strip()
    if len(instructions) > PICKUP_INSTRUCTIONS_MAX:
        raise ShippingFormInvalid(
            {"pickup_instructions": f"Use at most {PICKUP_INSTRUCTIONS_MAX:,} characters."}
        )
    if enabled and not instructions:
        raise ShippingFormInvalid(
            {
                "pickup_instructions": "Tell shoppers where and when to collect their order, "
                "like “Shop counter, 12 High Street, weekdays 9 to 5”."
            }
        )
    changed = []
    if settings.local_pickup != enabled:
        settings.local_pickup = enabled
        changed.append("local_pickup")
    if settings.pickup_instructions != instructions:
        settings.pickup_instructions = instructions
        changed.append("pickup_instructions")
    db.session.flush()
    return changed
