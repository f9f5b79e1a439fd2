"""Postal addresses: the rules of each country, validation, and display.

An address is a plain dict with the keys of `FIELDS` (what `CustomerAddress` and the
order's `shipping_address` JSON hold). `validate_address` cleans a form into one and
says, field by field, what is wrong, in words a shopper understands.

Countries differ in three ways that matter here, kept in the small tables below:

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

from tenants.services.shop_settings import COUNTRIES, COUNTRY_CODES

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


def _codes(text: str) -> list[str]:
    """ "AT BE" as ["AT", "BE"]: long lists of country codes stay readable."""
    return text.split()


def _table(text: str) -> list[tuple[str, str]]:
    """'CA California' lines as (code, name) pairs (the ISO prefix is added by the caller)."""
    return [
        (code, name)
        for code, name in (line.split(" ", 1) for line in text.strip().splitlines() if line)
    ]


# Subdivisions by ISO 3166-2 code (without the country prefix), in alphabetical order
# of their names, as a select list shows them.
_US = """
AL Alabama
AK Alaska
AS American Samoa
AZ Arizona
AR Arkansas
AA Armed Forces Americas
AE Armed Forces Europe
AP Armed Forces Pacific
CA California
CO Colorado
CT Connecticut
DE Delaware
DC District of Columbia
FL Florida
GA Georgia
GU Guam
HI Hawaii
ID Idaho
IL Illinois
IN Indiana
IA Iowa
KS Kansas
KY Kentucky
LA Louisiana
ME Maine
MD Maryland
MA Massachusetts
MI Michigan
MN Minnesota
MS Mississippi
MO Missouri
MT Montana
NE Nebraska
NV Nevada
NH New Hampshire
NJ New Jersey
NM New Mexico
NY New York
NC North Carolina
ND North Dakota
MP Northern Mariana Islands
OH Ohio
OK Oklahoma
OR Oregon
PA Pennsylvania
PR Puerto Rico
RI Rhode Island
SC South Carolina
SD South Dakota
TN Tennessee
TX Texas
UM U.S. Minor Outlying Islands
VI U.S. Virgin Islands
UT Utah
VT Vermont
VA Virginia
WA Washington
WV West Virginia
WI Wisconsin
WY Wyoming
"""
# AA, AE and AP are the US Postal Service's codes for military mail, not ISO 3166-2
# ones; American shoppers abroad in the forces need them, so they are kept.

_CA = """
AB Alberta
BC British Columbia
MB Manitoba
NB New Brunswick
NL Newfoundland and Labrador
NT Northwest Territories
NS Nova Scotia
NU Nunavut
ON Ontario
PE Prince Edward Island
QC Quebec
SK Saskatchewan
YT Yukon
"""

_AU = """
ACT Australian Capital Territory
NSW New South Wales
NT Northern Territory
QLD Queensland
SA South Australia
TAS Tasmania
VIC Victoria
WA Western Australia
"""

_MX = """
AGU Aguascalientes
BCN Baja California
BCS Baja California Sur
CAM Campeche
CHP Chiapas
CHH Chihuahua
CMX Ciudad de México
COA Coahuila
COL Colima
DUR Durango
MEX Estado de México
GUA Guanajuato
GRO Guerrero
HID Hidalgo
JAL Jalisco
MIC Michoacán
MOR Morelos
NAY Nayarit
NLE Nuevo León
OAX Oaxaca
PUE Puebla
QUE Querétaro
ROO Quintana Roo
SLP San Luis Potosí
SIN Sinaloa
SON Sonora
TAB Tabasco
TAM Tamaulipas
TLA Tlaxcala
VER Veracruz
YUC Yucatán
ZAC Zacatecas
"""

_BR = """
AC Acre
AL Alagoas
AP Amapá
AM Amazonas
BA Bahia
CE Ceará
DF Distrito Federal
ES Espírito Santo
GO Goiás
MA Maranhão
MT Mato Grosso
MS Mato Grosso do Sul
MG Minas Gerais
PA Pará
PB Paraíba
PR Paraná
PE Pernambuco
PI Piauí
RN Rio Grande do Norte
RS Rio Grande do Sul
RJ Rio de Janeiro
RO Rondônia
RR Roraima
SC Santa Catarina
SP São Paulo
SE Sergipe
TO Tocantins
"""

_JP = """
23 Aichi
05 Akita
02 Aomori
12 Chiba
38 Ehime
18 Fukui
40 Fukuoka
07 Fukushima
21 Gifu
10 Gunma
34 Hiroshima
01 Hokkaido
28 Hyogo
08 Ibaraki
17 Ishikawa
03 Iwate
37 Kagawa
46 Kagoshima
14 Kanagawa
39 Kochi
43 Kumamoto
26 Kyoto
24 Mie
04 Miyagi
45 Miyazaki
20 Nagano
42 Nagasaki
29 Nara
15 Niigata
44 Oita
33 Okayama
47 Okinawa
27 Osaka
41 Saga
11 Saitama
25 Shiga
32 Shimane
22 Shizuoka
09 Tochigi
36 Tokushima
13 Tokyo
31 Tottori
16 Toyama
30 Wakayama
06 Yamagata
35 Yamaguchi
19 Yamanashi
"""

_IN = """
AN Andaman and Nicobar Islands
AP Andhra Pradesh
AR Arunachal Pradesh
AS Assam
BR Bihar
CH Chandigarh
CT Chhattisgarh
DH Dadra and Nagar Haveli and Daman and Diu
DL Delhi
GA Goa
GJ Gujarat
HR Haryana
HP Himachal Pradesh
JK Jammu and Kashmir
JH Jharkhand
KA Karnataka
KL Kerala
LA Ladakh
LD Lakshadweep
MP Madhya Pradesh
MH Maharashtra
MN Manipur
ML Meghalaya
MZ Mizoram
NL Nagaland
OR Odisha
PY Puducherry
PB Punjab
RJ Rajasthan
SK Sikkim
TN Tamil Nadu
TG Telangana
TR Tripura
UP Uttar Pradesh
UT Uttarakhand
WB West Bengal
"""

_IE = """
CW Carlow
CN Cavan
CE Clare
CO Cork
DL Donegal
D Dublin
G Galway
KY Kerry
KE Kildare
KK Kilkenny
LS Laois
LM Leitrim
LK Limerick
LD Longford
LH Louth
MO Mayo
MH Meath
MN Monaghan
OY Offaly
RN Roscommon
SO Sligo
TA Tipperary
WD Waterford
WH Westmeath
WX Wexford
WW Wicklow
"""

# Codes people (and other software) still use for a subdivision ISO renamed: India's
# 2023 changes. They are read as the code kept in the table above.
_REGION_ALIASES = {"IN-CG": "IN-CT", "IN-OD": "IN-OR", "IN-TS": "IN-TG", "IN-UK": "IN-UT"}


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


def _digits(count: int, example: str, split: tuple[int, str] | None = None) -> PostalRule:
    return PostalRule(rf"\d{{{count}}}", example, split=split)


_UK_POSTCODE = PostalRule(
    r"GIR0AA|[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}",
    "SW1A 1AA",
    noun="a postcode",
    label="Postcode",
    split=(-3, " "),
)

POSTAL_RULES: dict[str, PostalRule] = {
    "US": PostalRule(
        r"\d{5}(?:\d{4})?", "94103", noun="a ZIP code", label="ZIP code", split=(5, "-")
    ),
    "CA": PostalRule(
        r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d", "K1A 0B1", split=(3, " ")
    ),
    "GB": _UK_POSTCODE,
    "GG": _UK_POSTCODE,
    "JE": _UK_POSTCODE,
    "IM": _UK_POSTCODE,
    # Eircodes are optional (many Irish addresses are delivered without one), but a
    # typed one must look right.
    "IE": PostalRule(
        r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[0-9AC-FHKNPRTV-Y]{4}",
        "D02 X285",
        noun="an Eircode",
        label="Eircode",
        split=(3, " "),
        required=False,
    ),
    "NL": PostalRule(r"[1-9]\d{3}[A-Z]{2}", "1012 AB", split=(4, " ")),
    "FR": _digits(5, "75001"),
    "DE": _digits(5, "10115"),
    "IT": _digits(5, "00144"),
    "ES": _digits(5, "28013"),
    "FI": _digits(5, "00100"),
    "MC": _digits(5, "98000"),
    "HR": _digits(5, "10000"),
    "EE": _digits(5, "10111"),
    "TR": _digits(5, "34000"),
    "MX": _digits(5, "06000"),
    "KR": _digits(5, "04524"),
    "SE": _digits(5, "114 55", (3, " ")),
    "CZ": _digits(5, "110 00", (3, " ")),
    "SK": _digits(5, "811 01", (3, " ")),
    "GR": _digits(5, "105 57", (3, " ")),
    "PL": _digits(5, "00-950", (2, "-")),
    "PT": _digits(7, "1000-001", (4, "-")),
    "JP": _digits(7, "100-0001", (3, "-")),
    "BR": PostalRule(r"\d{8}", "01310-100", noun="a CEP", label="CEP", split=(5, "-")),
    "IN": PostalRule(r"[1-9]\d{5}", "110001", noun="a PIN code", label="PIN code"),
    "BE": _digits(4, "1000"),
    "AT": _digits(4, "1010"),
    "CH": _digits(4, "8001"),
    "LI": _digits(4, "9490"),
    "LU": _digits(4, "1118"),
    "DK": _digits(4, "1050"),
    "NO": _digits(4, "0150"),
    "HU": _digits(4, "1051"),
    "SI": _digits(4, "1000"),
    "AU": _digits(4, "2000"),
    "NZ": _digits(4, "6011"),
    "ZA": _digits(4, "8001"),
    "SG": _digits(6, "018956"),
    "CN": _digits(6, "100000"),
    "RU": _digits(6, "101000"),
    "RO": _digits(6, "010011"),
}

# Countries without postal codes: the field is not asked for (what is typed is kept).
NO_POSTAL_CODES = frozenset(
    _codes(
        "AE AG AO AW BF BI BJ BO BS BW BZ CD CF CG CI CK CM DJ DM ER FJ GA GD GH GM GQ GY HK "
        "KI KM KN KP LC ML MO MR MW NR NU QA RW SB SC SL SO SR ST SY TF TG TK TL TO TV UG VU "
        "YE ZW"
    )
)

# City-states and the like: the country is the city.
NO_CITY = frozenset({"SG", "HK", "MO", "GI", "VA"})


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


def _rule(country: str, label: str, table: str, *, required: bool = True) -> CountryRule:
    regions = tuple((f"{country}-{code}", name) for code, name in _table(table))
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


_REGION_RULES: dict[str, CountryRule] = {
    "US": _rule("US", "State", _US),
    "CA": _rule("CA", "Province", _CA),
    "AU": _rule("AU", "State or territory", _AU),
    "MX": _rule("MX", "State", _MX),
    "BR": _rule("BR", "State", _BR),
    "JP": _rule("JP", "Prefecture", _JP),
    "IN": _rule("IN", "State", _IN),
    "IE": _rule("IE", "County", _IE, required=False),
}

_REGION_LABELS = {"GB": "County", "IT": "Province", "ES": "Province", "CN": "Province"}

# How the city, region and postal code print (see `format_lines`).
_LAYOUTS = {
    "US": "us",
    "CA": "north",
    "AU": "north",
    **{
        country: "postal-first"
        for country in _codes(
            "AT BE BG CH CZ DE DK EE ES FI FR GR HR HU IL IS IT LI LT LU LV MC MX NL NO PL PT RO "
            "SE SI SK TR BR"
        )
    },
    **{country: "lines" for country in ("GB", "GG", "JE", "IM", "IE")},
}


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
