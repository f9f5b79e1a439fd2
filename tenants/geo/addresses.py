"""Postal addresses: the rules of each country, validation, and display.

An address is a plain dict with the keys of `FIELDS` (what `CustomerAddress` and the
order's `shipping_address` JSON hold). `validate_address` cleans a form into one and
says, field by field, what is wrong, in words a shopper understands.

Countries differ in three ways that matter here, kept in the data files of
`tenants.geo` (read by `tenants.geo.loader`):

* whether the address needs a subdivision (US states, Canadian provinces, ...): for
  those we know, the region is stored as its ISO 3166-2 code ("US-CA"), so shipping
  zones and tax rates can match it; elsewhere it is free text and optional;
* whether the country uses postal codes, their pattern and usual spelling (codes are
  upper-cased and re-spaced the way the post office prints them: "k1a0b1" is "K1A 0B1");
* a few cities-states where no city line is needed.

A country missing from the tables gets lenient rules (postal code and region optional),
so nobody is ever locked out of checkout by our ignorance of their country.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tenants.geo import loader as geo
from tenants.settings.services import COUNTRIES, COUNTRY_CODES

# The address's keys, in display order, with (label, maximum length): the lengths are
# those of the `customer_addresses` columns.
FIELDS: dict[str, tuple[str, int]] = {
    "name": ("Name", 200),
    "company": ("Company", 200),
    "line1": ("Address", 200),
    "line2": ("Apartment, suite, etc.", 200),
    "city": ("City", 100),
    "region": ("Region", 100),
    "postal_code": ("Postal code", 20),
    "country": ("Country", 2),
    "phone": ("Phone", 40),
}
OPTIONAL_FIELDS = frozenset({"company", "line2", "phone"})

_COUNTRY_NAMES = dict(COUNTRIES)

# Codes people (and other software) still use for a subdivision ISO renamed (India's
# 2023 changes): read as the code kept in the list of regions.
_REGION_ALIASES: dict[str, str] = dict(geo.region_aliases())


@dataclass(frozen=True)
class PostalRule:
    """How a country writes postal codes.

    `pattern` is matched against the code without spaces or hyphens, upper-cased; `split`
    puts the separator back at that position (negative: from the end) for codes longer
    than it, so "941031234" is stored "94103-1234" and "sw1a1aa" "SW1A 1AA".
    """

    pattern: str
    example: str
    noun: str = "a postal code"  # as a sentence says it: "Enter a ZIP code like 94103."
    label: str = "Postal code"
    split: tuple[int, str] | None = None
    required: bool = True

    def normalise(self, text: str) -> str | None:
        """The code as the post office writes it, or None if it is not one."""
        compact = re.sub(r"[\s-]+", "", text).upper()
        if not re.fullmatch(self.pattern, compact):
            return None
        if self.split is not None:
            at, separator = self.split
            position = at if at >= 0 else len(compact) + at
            if 0 < position < len(compact):
                compact = compact[:position] + separator + compact[position:]
        return compact


POSTAL_RULES: dict[str, PostalRule] = {
    country: PostalRule(**postal) for country, postal in geo.postal_formats().items()
}

# Countries without postal codes: the field is not asked for (what is typed is kept).
NO_POSTAL_CODES: frozenset[str] = geo.no_postal_code()

# City-states and the like: the country is the city.
NO_CITY: frozenset[str] = geo.no_city()


@dataclass(frozen=True)
class CountryRule:
    """What an address form asks for in one country (see `country_rule`)."""

    country: str
    region_label: str = "Region"
    region_required: bool = False
    # (ISO 3166-2 code, name) for a select list; empty: the region is free text.
    regions: tuple[tuple[str, str], ...] = ()
    postal: PostalRule | None = None  # None: no known pattern
    postal_used: bool = True
    city_required: bool = True
    # Some fields print on the address label in this order: see `format_lines`.
    layout: str = "default"
    _by_key: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def postal_label(self) -> str:
        return self.postal.label if self.postal else "Postal code"

    @property
    def postal_required(self) -> bool:
        return self.postal_used and self.postal is not None and self.postal.required

    @property
    def region_noun(self) -> str:
        return self.region_label.lower()


def _fold(text: str) -> str:
    """Lower case without accents or extra spaces: "  México " and "mexico" are equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().replace(".", "").split())


def _rule(
    country: str, label: str, table: tuple[tuple[str, str], ...], *, required: bool = True
) -> CountryRule:
    regions = tuple((code, name) for code, name in table)
    by_key: dict[str, str] = {}
    for code, name in regions:
        by_key[_fold(code)] = code
        by_key[_fold(code.split("-", 1)[1])] = code
        by_key[_fold(name)] = code
    return CountryRule(
        country=country,
        region_label=label,
        region_required=required,
        regions=regions,
        _by_key=by_key,
    )


_REGION_LABELS_ALL = geo.region_labels()

# The countries whose region is chosen from a list (ISO 3166-2 codes, by name).
_REGION_RULES: dict[str, CountryRule] = {
    country: _rule(
        country,
        _REGION_LABELS_ALL.get(country, "Region"),
        table,
        required=country not in geo.optional_regions(),
    )
    for country, table in geo.regions().items()
}

# What the region is called in other countries, where it is not "Region".
_REGION_LABELS: dict[str, str] = {
    country: label for country, label in _REGION_LABELS_ALL.items() if country not in _REGION_RULES
}

# How the city, region and postal code print (see `format_lines`).
_LAYOUTS: dict[str, str] = dict(geo.layouts())


@lru_cache(maxsize=512)
def country_rule(country: str) -> CountryRule:
    """The address rules of `country` (an ISO 3166-1 code): labels, regions, postal code."""
    country = (country or "").strip().upper()
    base = _REGION_RULES.get(country) or CountryRule(
        country=country, region_label=_REGION_LABELS.get(country, "Region")
    )
    return CountryRule(
        country=country,
        region_label=base.region_label,
        region_required=base.region_required,
        regions=base.regions,
        postal=POSTAL_RULES.get(country),
        postal_used=country not in NO_POSTAL_CODES,
        city_required=country not in NO_CITY,
        layout=_LAYOUTS.get(country, "default"),
        _by_key=base._by_key,
    )


def regions(country: str) -> list[tuple[str, str]]:
    """(ISO 3166-2 code, name) of `country`'s subdivisions for a select; [] if free text."""
    return list(country_rule(country).regions)


def has_regions(country: str) -> bool:
    """Whether `country`'s region is chosen from a list (and stored as its code)."""
    return bool(country_rule(country).regions)


def region_code(country: str, text: str) -> str | None:
    """The ISO 3166-2 code for what was typed ("CA", "california", "US-CA"), if known."""
    rule = country_rule(country)
    key = _fold(text or "")
    if not key:
        return None
    code = rule._by_key.get(key)
    if code is None and rule.regions:
        renamed = key.upper() if "-" in key else f"{rule.country}-{key.upper()}"
        code = _REGION_ALIASES.get(renamed)
        if code is not None and not code.startswith(f"{rule.country}-"):
            code = None
    return code


def region_name(country: str, code: str) -> str:
    """A region's name ("California" for "US-CA"); the text itself if it is not a code."""
    return dict(country_rule(country).regions).get(code, code)


def country_name(code: str) -> str:
    """ "France" for "FR"; the code itself if unknown."""
    return _COUNTRY_NAMES.get((code or "").upper(), code)


def form_rules() -> dict[str, dict[str, Any]]:
    """Per-country labels and choices for a checkout form's script, for the countries
    whose form differs from the default (JSON-ready)."""
    special = set(_REGION_RULES) | set(POSTAL_RULES) | NO_POSTAL_CODES | NO_CITY
    special |= set(_REGION_LABELS)
    result: dict[str, dict[str, Any]] = {}
    for country in sorted(special & COUNTRY_CODES):
        rule = country_rule(country)
        result[country] = {
            "region_label": rule.region_label,
            "region_required": rule.region_required,
            "regions": [list(pair) for pair in rule.regions],
            "postal_label": rule.postal_label,
            "postal_used": rule.postal_used,
            "postal_required": rule.postal_required,
            "postal_example": rule.postal.example if rule.postal else "",
            "city_required": rule.city_required,
        }
    return result


# --- validation ---------------------------------------------------------------------

_PHONE = re.compile(r"\+?[0-9(][0-9 ().\-/]*")
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 6, 15  # E.164 numbers have at most 15 digits

_MISSING = {
    "name": "Enter a name.",
    "line1": "Enter a street address.",
    "city": "Enter a city.",
    "country": "Choose a country.",
}


def _text(value: Any) -> str:
    return " ".join(str(value if value is not None else "").split())


def validate_address(form: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(cleaned address, errors by field) for an address form.

    `cleaned` always has every key of `FIELDS` (strings; what was typed, tidied, when a
    field is wrong, so the form can show it again). With no errors it is ready to
    store: country upper-cased, region as its ISO 3166-2 code where the country has a
    list, postal code in the post office's spelling, inner runs of spaces collapsed.
    """
    cleaned = {name: _text(form.get(name)) for name in FIELDS}
    errors: dict[str, str] = {}

    country = cleaned["country"] = cleaned["country"].upper()
    if not country:
        errors["country"] = _MISSING["country"]
    elif country not in COUNTRY_CODES:
        errors["country"] = "Choose a country from the list."
    rule = country_rule(country)

    for name, (label, max_length) in FIELDS.items():
        value = cleaned[name]
        if name in ("country", "region", "postal_code"):
            continue
        required = name not in OPTIONAL_FIELDS and (name != "city" or rule.city_required)
        if not value:
            if required:
                errors[name] = _MISSING[name]
        elif len(value) > max_length:
            errors[name] = f"{label} can have at most {max_length} characters."
        elif any(ord(c) < 32 or ord(c) == 127 for c in value):
            errors[name] = f"{label} cannot contain control characters."

    phone = cleaned["phone"]
    if phone and "phone" not in errors:
        digits = sum(c.isdigit() for c in phone)
        if not _PHONE.fullmatch(phone) or not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS:
            errors["phone"] = "Enter a phone number with its area code, like +1 415 555 0100."

    _check_region(cleaned, errors, rule)
    _check_postal_code(cleaned, errors, rule)
    return cleaned, errors


def _check_region(cleaned: dict[str, str], errors: dict[str, str], rule: CountryRule) -> None:
    value = cleaned["region"]
    if rule.regions:
        if not value:
            if rule.region_required:
                errors["region"] = f"Choose a {rule.region_noun}."
            return
        code = region_code(rule.country, value)
        if code is None:
            errors["region"] = f"Choose a {rule.region_noun} from the list."
        else:
            cleaned["region"] = code
    elif len(value) > FIELDS["region"][1]:
        errors["region"] = f"{rule.region_label} can have at most {FIELDS['region'][1]} characters."
    elif any(ord(c) < 32 or ord(c) == 127 for c in value):
        errors["region"] = f"{rule.region_label} cannot contain control characters."


def _check_postal_code(cleaned: dict[str, str], errors: dict[str, str], rule: CountryRule) -> None:
    value = cleaned["postal_code"]
    postal = rule.postal
    if not value:
        if rule.postal_required and postal is not None:
            errors["postal_code"] = f"Enter {postal.noun}."
        return
    if not rule.postal_used:  # kept as typed: it harms nobody on the label
        if len(value) > FIELDS["postal_code"][1] or any(ord(c) < 32 for c in value):
            errors["postal_code"] = "Leave the postal code empty: this country has none."
        return
    if postal is not None:
        normalised = postal.normalise(value)
        if normalised is None:
            errors["postal_code"] = f"Enter {postal.noun} like {postal.example}."
        else:
            cleaned["postal_code"] = normalised
        return
    # A country whose pattern we do not know: accept what looks like a postal code.
    if len(value) > FIELDS["postal_code"][1] or not re.fullmatch(
        r"[0-9A-Za-z][0-9A-Za-z \-]*", value
    ):
        errors["postal_code"] = (
            f"Enter a postal code of letters and digits, at most {FIELDS['postal_code'][1]} "
            "characters."
        )
    else:
        cleaned["postal_code"] = value.upper()


# --- display ------------------------------------------------------------------------


def _value(address: Mapping[str, Any] | Any, name: str) -> str:
    if isinstance(address, Mapping):
        return _text(address.get(name))
    return _text(getattr(address, name, ""))


def country_and_region(address: Mapping[str, Any] | Any) -> tuple[str, str]:
    """(country, region code) of an address dict or object, for matching shipping zones
    and tax rates; the code is "" unless the region is one of the country's list."""
    country = _value(address, "country").upper()
    return country, region_code(country, _value(address, "region")) or ""


def format_lines(
    address: Mapping[str, Any] | Any, *, include_country: bool = True, include_phone: bool = False
) -> list[str]:
    """The address as printed on a label, one string per line, empty parts left out.

    `address` is a dict (an order's `shipping_address`) or an object with the same
    attributes (`CustomerAddress`).
    """
    get = {name: _value(address, name) for name in FIELDS}
    country = get["country"].upper()
    rule = country_rule(country)
    region_code_ = get["region"]
    short = region_code_.split("-", 1)[1] if rule.regions and "-" in region_code_ else region_code_
    region = region_name(country, region_code_) if rule.regions else region_code_
    city, postal = get["city"], get["postal_code"]

    lines = [get["name"], get["company"], get["line1"], get["line2"]]
    if rule.layout == "us":
        lines.append(" ".join(p for p in (f"{city}," if city else "", short, postal) if p))
    elif rule.layout == "north":
        lines.append(" ".join(p for p in (city, short, postal) if p))
    elif rule.layout == "postal-first":
        lines += [" ".join(p for p in (postal, city) if p), region]
    elif rule.layout == "lines":
        lines += [city, region, postal]
    else:
        place = ", ".join(p for p in (city, region) if p)
        lines.append(" ".join(p for p in (place, postal) if p))
    if include_country and country:
        lines.append(country_name(country))
    if include_phone:
        lines.append(get["phone"])
    return [line.strip(" ,") for line in lines if line.strip(" ,")]
