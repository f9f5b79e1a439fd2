"""Addresses: the rules of each country, the messages shoppers see, and how they print."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tenants.geo import addresses
from tenants.geo.addresses import format_lines, validate_address


def address(**overrides) -> dict[str, str]:
    form = {
        "name": "Ann Lee",
        "company": "",
        "line1": "1 Market Street",
        "line2": "",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94103",
        "country": "US",
        "phone": "",
    }
    form.update(overrides)
    return form


def test_a_good_us_address_is_cleaned_for_storage():
    cleaned, errors = validate_address(
        address(
            name="  Ann   Lee ",
            region="california",
            postal_code="94103 1234",
            country="us",
            phone="+1 (415) 555-0100",
        )
    )
    assert errors == {}
    assert cleaned == {
        "name": "Ann Lee",
        "company": "",
        "line1": "1 Market Street",
        "line2": "",
        "city": "San Francisco",
        "region": "US-CA",
        "postal_code": "94103-1234",
        "country": "US",
        "phone": "+1 (415) 555-0100",
    }
    for typed in ("CA", "US-CA", "us-ca", "California"):
        assert validate_address(address(region=typed))[0]["region"] == "US-CA"


def test_missing_fields_are_named_one_by_one():
    cleaned, errors = validate_address(
        address(name="", line1=" ", city="", region="", postal_code="")
    )
    assert errors == {
        "name": "Enter a name.",
        "line1": "Enter a street address.",
        "city": "Enter a city.",
        "region": "Choose a state.",
        "postal_code": "Enter a ZIP code.",
    }
    assert cleaned["country"] == "US"  # what was typed is kept for the form

    _, errors = validate_address(address(country=""))
    assert errors["country"] == "Choose a country."
    _, errors = validate_address(address(country="XX"))
    assert errors["country"] == "Choose a country from the list."


@pytest.mark.parametrize(
    ("country", "region", "bad", "message"),
    [
        ("US", "NY", "1234", "Enter a ZIP code like 94103."),
        ("US", "NY", "94103-12", "Enter a ZIP code like 94103."),
        ("CA", "ON", "D1A 1A1", "Enter a postal code like K1A 0B1."),  # no D in front
        ("GB", "", "SW1A", "Enter a postcode like SW1A 1AA."),
        ("FR", "", "7500", "Enter a postal code like 75001."),
        ("DE", "", "101155", "Enter a postal code like 10115."),
        ("NL", "", "0123 AB", "Enter a postal code like 1012 AB."),
        ("AU", "NSW", "200", "Enter a postal code like 2000."),
        ("IE", "", "D02 X28", "Enter an Eircode like D02 X285."),
        ("BR", "SP", "0131010", "Enter a CEP like 01310-100."),
        ("IN", "DL", "011000", "Enter a PIN code like 110001."),
    ],
)
def test_bad_postal_codes_say_what_one_looks_like(country, region, bad, message):
    _, errors = validate_address(address(country=country, region=region, postal_code=bad))
    assert errors == {"postal_code": message}


@pytest.mark.parametrize(
    ("country", "region", "typed", "stored"),
    [
        ("US", "NY", "10001", "10001"),
        ("US", "NY", "100011234", "10001-1234"),
        ("CA", "QC", "h2x1y4", "H2X 1Y4"),
        ("CA", "QC", "H2X-1Y4", "H2X 1Y4"),
        ("GB", "", "sw1a1aa", "SW1A 1AA"),
        ("GB", "", "m1 1ae", "M1 1AE"),
        ("FR", "", "75 001", "75001"),
        ("NL", "", "1012ab", "1012 AB"),
        ("SE", "", "11455", "114 55"),
        ("PL", "", "00950", "00-950"),
        ("JP", "Tokyo", "1000001", "100-0001"),
        ("IE", "", "d02x285", "D02 X285"),
        ("AU", "VIC", "3000", "3000"),
    ],
)
def test_postal_codes_are_stored_as_the_post_office_writes_them(country, region, typed, stored):
    cleaned, errors = validate_address(address(country=country, region=region, postal_code=typed))
    assert errors == {}
    assert cleaned["postal_code"] == stored


def test_regions_required_where_the_country_has_them():
    for country, postal, message in [
        ("CA", "K1A 0B1", "Choose a province."),
        ("AU", "2000", "Choose a state or territory."),
        ("JP", "100-0001", "Choose a prefecture."),
        ("MX", "06000", "Choose a state."),
    ]:
        _, errors = validate_address(address(country=country, region="", postal_code=postal))
        assert errors == {"region": message}, country
    _, errors = validate_address(address(country="CA", region="Texas", postal_code="K1A 0B1"))
    assert errors == {"region": "Choose a province from the list."}
    # Irish counties are listed but optional; elsewhere the region is free text.
    assert validate_address(address(country="IE", region="", postal_code=""))[1] == {}
    cleaned, errors = validate_address(address(country="IE", region="cork", postal_code=""))
    assert errors == {} and cleaned["region"] == "IE-CO"
    cleaned, errors = validate_address(
        address(country="GB", region="Greater London", postal_code="EC1A 1BB")
    )
    assert errors == {} and cleaned["region"] == "Greater London"
    # Codes renamed in 2023 are read as the ones in the list.
    assert validate_address(address(country="IN", region="TS", postal_code="500001"))[0][
        "region"
    ] == ("IN-TG")


def test_countries_without_postal_codes_or_cities():
    for country in ("HK", "AE"):
        _, errors = validate_address(address(country=country, region="", postal_code=""))
        assert errors == {}, country
    _, errors = validate_address(address(country="HK", city="", region="", postal_code=""))
    assert errors == {}  # Hong Kong is its own city
    _, errors = validate_address(address(country="AE", city="", region="", postal_code=""))
    assert errors == {"city": "Enter a city."}
    # A country we have no pattern for: optional, but it must look like a postal code.
    assert validate_address(address(country="AR", region="", postal_code=""))[1] == {}
    cleaned, errors = validate_address(address(country="AR", region="", postal_code="c1002aab"))
    assert errors == {} and cleaned["postal_code"] == "C1002AAB"
    _, errors = validate_address(address(country="AR", region="", postal_code="<b>"))
    assert "postal_code" in errors


def test_lengths_control_characters_and_phone_numbers():
    _, errors = validate_address(address(name="x" * 201, company="Acme\x00", phone="call me"))
    assert errors == {
        "name": "Name can have at most 200 characters.",
        "company": "Company cannot contain control characters.",
        "phone": "Enter a phone number with its area code, like +1 415 555 0100.",
    }
    _, errors = validate_address(address(phone="12 34"))
    assert errors == {"phone": "Enter a phone number with its area code, like +1 415 555 0100."}
    assert validate_address(address(phone="(415) 555-0100"))[1] == {}


def test_region_lists_for_the_select():
    us = addresses.regions("US")
    assert ("US-CA", "California") in us and ("US-DC", "District of Columbia") in us
    assert [name for _, name in us] == sorted(name for _, name in us)
    assert len(addresses.regions("CA")) == 13 and len(addresses.regions("AU")) == 8
    assert addresses.regions("FR") == [] and not addresses.has_regions("FR")
    assert addresses.region_name("US", "US-NY") == "New York"
    rule = addresses.country_rule("us")
    assert (rule.region_label, rule.postal_label, rule.postal_required) == (
        "State",
        "ZIP code",
        True,
    )
    rules = addresses.form_rules()
    assert rules["US"]["postal_example"] == "94103" and rules["HK"]["postal_used"] is False
    assert rules["CA"]["regions"][0] == ["CA-AB", "Alberta"]


def test_format_lines_per_country():
    us, _ = validate_address(address(company="Acme Inc.", line2="Suite 5", postal_code="94103"))
    assert format_lines(us) == [
        "Ann Lee",
        "Acme Inc.",
        "1 Market Street",
        "Suite 5",
        "San Francisco, CA 94103",
        "United States",
    ]
    fr, _ = validate_address(
        address(city="Paris", region="", postal_code="75001", country="FR", phone="0102030405")
    )
    assert format_lines(fr, include_phone=True) == [
        "Ann Lee",
        "1 Market Street",
        "75001 Paris",
        "France",
        "0102030405",
    ]
    gb = SimpleNamespace(**address(city="London", region="", postal_code="SW1A 1AA", country="GB"))
    assert format_lines(gb, include_country=False) == [
        "Ann Lee",
        "1 Market Street",
        "London",
        "SW1A 1AA",
    ]
    ca, _ = validate_address(
        address(city="Toronto", region="ON", postal_code="m5v2t6", country="CA")
    )
    assert format_lines(ca)[-2:] == ["Toronto ON M5V 2T6", "Canada"]
    jp, _ = validate_address(
        address(city="Chiyoda-ku", region="JP-13", postal_code="1000001", country="JP")
    )
    assert format_lines(jp)[-2:] == ["Chiyoda-ku, Tokyo 100-0001", "Japan"]
