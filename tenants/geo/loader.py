"""Typed readers of the JSON files in `data/`, each file parsed once per process.

The files (UTF-8; order matters wherever a list or object is shown in a select):

* `countries.json`: ISO 3166-1 alpha-2 countries by English name (from the tz database's
  iso3166.tab), a list of `{"code": "FR", "name": "France"}`.
* `currencies.json`: the currencies a shop can sell in, a list of
  `{"code": "EUR", "name": "Euro"}` (ISO 4217 codes `saas.money` formats correctly).
* `regions.json`: the subdivisions of the countries whose region is chosen from a list,
  `{"US": [["US-AL", "Alabama"], ...]}`: ISO 3166-2 codes, in alphabetical order of their
  names. US-AA, US-AE and US-AP are the US Postal Service's codes for military mail, not
  ISO ones; Americans abroad in the forces need them.
* `address_formats.json`, one object:
  - `postal_codes`: country -> `{"pattern", "example"}` plus, where they differ from
    `PostalRule`'s defaults, `"noun"`, `"label"`, `"split": [position, separator]` and
    `"required"`. `pattern` is a regular expression matched in full against the code
    without spaces or hyphens, upper-cased;
  - `no_postal_code`: the countries without postal codes;
  - `no_city`: city-states and the like, where the country is the city;
  - `layouts`: layout name -> the countries whose address label uses it;
  - `region_labels`: country -> what its region is called ("State", "County");
  - `optional_regions`: countries of `regions.json` whose region may be left empty;
  - `region_aliases`: old ISO 3166-2 code -> the code kept in `regions.json`.

What the functions return is shared by every caller: do not change it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, NamedTuple, NotRequired, TypedDict


class Country(NamedTuple):
    code: str  # ISO 3166-1 alpha-2
    name: str


class Currency(NamedTuple):
    code: str  # ISO 4217
    name: str


class Region(NamedTuple):
    code: str  # ISO 3166-2, with the country prefix: "US-CA"
    name: str


class PostalFormat(TypedDict):
    """A country's postal codes: the keyword arguments of `addresses.PostalRule`."""

    pattern: str
    example: str
    noun: NotRequired[str]
    label: NotRequired[str]
    split: NotRequired[tuple[int, str]]
    required: NotRequired[bool]


@cache
def _load(name: str) -> Any:
    """The parsed content of `data/<name>` (read once)."""
    path = resources.files("tenants.geo").joinpath("data", name)
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def countries() -> tuple[Country, ...]:
    """Every country, in the order of `countries.json` (by English name)."""
    return tuple(Country(row["code"], row["name"]) for row in _load("countries.json"))


@cache
def currencies() -> tuple[Currency, ...]:
    """The currencies a shop can sell in, in the order of `currencies.json`."""
    return tuple(Currency(row["code"], row["name"]) for row in _load("currencies.json"))


@cache
def regions() -> MappingProxyType[str, tuple[Region, ...]]:
    """Country -> its subdivisions for a select list, for the countries that have one."""
    return MappingProxyType(
        {
            country: tuple(Region(code, name) for code, name in rows)
            for country, rows in _load("regions.json").items()
        }
    )


def _formats() -> dict[str, Any]:
    formats: dict[str, Any] = _load("address_formats.json")
    return formats


@cache
def postal_formats() -> MappingProxyType[str, PostalFormat]:
    """Country -> how it writes postal codes, for the countries whose pattern is known.

    Raises:
        ValueError: a pattern is not a valid regular expression.
    """
    result: dict[str, PostalFormat] = {}
    for country, row in _formats()["postal_codes"].items():
        try:
            re.compile(row["pattern"])
        except re.error as error:
            raise ValueError(f"address_formats.json: bad postal pattern for {country}") from error
        entry: PostalFormat = {"pattern": row["pattern"], "example": row["example"]}
        if "noun" in row:
            entry["noun"] = row["noun"]
        if "label" in row:
            entry["label"] = row["label"]
        if "split" in row:
            at, separator = row["split"]
            entry["split"] = (int(at), str(separator))
        if "required" in row:
            entry["required"] = bool(row["required"])
        result[country] = entry
    return MappingProxyType(result)


@cache
def no_postal_code() -> frozenset[str]:
    """The countries without postal codes."""
    return frozenset(_formats()["no_postal_code"])


@cache
def no_city() -> frozenset[str]:
    """The countries where an address needs no city line."""
    return frozenset(_formats()["no_city"])


@cache
def layouts() -> MappingProxyType[str, str]:
    """Country -> the name of its address label's layout, for those not "default"."""
    return MappingProxyType(
        {
            country: layout
            for layout, countries_ in _formats()["layouts"].items()
            for country in countries_
        }
    )


@cache
def region_labels() -> MappingProxyType[str, str]:
    """Country -> what its region is called, where it is not "Region"."""
    return MappingProxyType(dict(_formats()["region_labels"]))


@cache
def optional_regions() -> frozenset[str]:
    """The countries with a list of regions whose region may be left empty."""
    return frozenset(_formats()["optional_regions"])


@cache
def region_aliases() -> MappingProxyType[str, str]:
    """Old ISO 3166-2 code -> the code of the same subdivision in `regions()`."""
    return MappingProxyType(dict(_formats()["region_aliases"]))
