"""Shipping zones and rates, local pickup, taxes: the rules, the back office, isolation."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db
from saas.models import AuditEvent
from saas.tenancy import tenant_context
from tenants.settings.models import ShopSettings
from tenants.settings.services import get_settings
from tenants.shipping import services as shipping
from tenants.shipping import taxes
from tenants.shipping.models import ShippingRate, ShippingZone, TaxRate

NO_PICKUP = ShopSettings(local_pickup=False, pickup_instructions="")


def seed_zones(app, tenant, zones) -> dict[str, int]:
    """zones: (name, countries, regions, [rate kwargs]). Returns rate ids by rate name."""
    with app.app_context(), tenant_context(tenant):
        for name, countries, regions, rates in zones:
            zone = ShippingZone(name=name, countries=countries, regions=regions)
            zone.rates = [ShippingRate(**rate) for rate in rates]
            db.session.add(zone)
        db.session.commit()
        return {r.name: r.id for r in db.session.scalars(select(ShippingRate))}


def seed_tax_rates(app, tenant, rates) -> None:
    with app.app_context(), tenant_context(tenant):
        for country, region, name, bp in rates:
            db.session.add(TaxRate(country=country, region=region, name=name, rate_bp=bp))
        db.session.commit()


def offered(app, tenant, to, subtotal=1000, weight=0, settings=NO_PICKUP):
    """(name, price) of each option for an address `to` (dict of country and region)."""
    with app.app_context(), tenant_context(tenant):
        return [(o.name, o.price_cents) for o in shipping.options(to, subtotal, weight, settings)]


def flat(name, price, **extra):
    return {"name": name, "kind": "flat", "price_cents": price, **extra}


US_CA = {"country": "US", "region": "US-CA"}
US_NY = {"country": "US", "region": "US-NY"}


# --- zones and rates -----------------------------------------------------------------


def test_the_most_specific_zone_wins(app, make_tenant):
    tenant = make_tenant()
    seed_zones(
        app,
        tenant,
        [
            ("Domestic", ["US"], [], [flat("Standard", 500), flat("Express", 1500)]),
            ("West coast", ["US"], ["US-CA", "US-OR"], [flat("West standard", 800)]),
            ("Canada and Washington", ["CA", "US"], ["US-WA"], [flat("North", 1200)]),
        ],
    )
    assert offered(app, tenant, US_NY) == [("Standard", 500), ("Express", 1500)]
    assert offered(app, tenant, US_CA) == [("West standard", 800)]
    # The region as a shopper might have it (a name), not only as its code.
    assert offered(app, tenant, {"country": "us", "region": "Oregon"}) == [("West standard", 800)]
    assert offered(app, tenant, {"country": "US", "region": "US-WA"}) == [("North", 1200)]
    # Canada is listed without regions of its own: the whole country is served.
    assert offered(app, tenant, {"country": "CA", "region": "CA-ON"}) == [("North", 1200)]
    assert offered(app, tenant, {"country": "US", "region": ""}) == [
        ("Standard", 500),
        ("Express", 1500),
    ]


def test_nowhere_to_ship_is_an_empty_list(app, make_tenant):
    tenant = make_tenant()
    seed_zones(app, tenant, [("Domestic", ["US"], [], [flat("Standard", 500)])])
    assert offered(app, tenant, {"country": "FR", "region": ""}) == []
    assert offered(app, tenant, {"country": "", "region": ""}) == []
    with app.app_context(), tenant_context(tenant):
        assert not shipping.ships_to({"country": "FR"})
        assert shipping.ships_to(US_NY)
    # A zone for part of a country only: the rest of it is not served.
    other = make_tenant()
    seed_zones(app, other, [("California", ["US"], ["US-CA"], [flat("Local", 300)])])
    assert offered(app, other, US_NY) == []
    assert offered(app, other, US_CA) == [("Local", 300)]


def test_weight_and_price_rates_and_free_shipping_over_a_threshold(app, make_tenant):
    tenant = make_tenant()
    seed_zones(
        app,
        tenant,
        [
            (
                "Domestic",
                ["US"],
                [],
                [
                    {
                        "name": "Light",
                        "kind": "weight",
                        "min_value": 0,
                        "max_value": 1000,
                        "price_cents": 500,
                    },
                    {
                        "name": "Medium",
                        "kind": "weight",
                        "min_value": 1000,
                        "max_value": 5000,
                        "price_cents": 900,
                    },
                    {
                        "name": "Heavy",
                        "kind": "weight",
                        "min_value": 5001,
                        "max_value": None,
                        "price_cents": 2500,
                    },
                    {
                        "name": "Small order",
                        "kind": "price",
                        "min_value": 0,
                        "max_value": 4999,
                        "price_cents": 700,
                    },
                    {
                        "name": "Big order",
                        "kind": "price",
                        "min_value": 5000,
                        "max_value": None,
                        "price_cents": 300,
                    },
                    flat("Courier", 1200, free_over_cents=10000),
                ],
            )
        ],
    )
    assert offered(app, tenant, US_NY, subtotal=2000, weight=400) == [
        ("Light", 500),
        ("Small order", 700),
        ("Courier", 1200),
    ]
    # Both ends of a range count: 1 kg exactly fits "Light" and "Medium".
    assert offered(app, tenant, US_NY, subtotal=5000, weight=1000) == [
        ("Big order", 300),
        ("Light", 500),
        ("Medium", 900),
        ("Courier", 1200),
    ]
    assert offered(app, tenant, US_NY, subtotal=9999, weight=80_000) == [
        ("Big order", 300),
        ("Courier", 1200),
        ("Heavy", 2500),
    ]
    # The courier is free from 100.00.
    assert ("Courier", 0) in offered(app, tenant, US_NY, subtotal=10000, weight=80_000)
    assert offered(app, tenant, US_NY, subtotal=10000, weight=80_000)[0] == ("Courier", 0)


def test_local_pickup_is_offered_to_everyone_when_on(app, make_tenant):
    tenant = make_tenant()
    seed_zones(app, tenant, [("Domestic", ["US"], [], [flat("Standard", 500)])])
    settings = ShopSettings(local_pickup=True, pickup_instructions="Counter, 1 Main St, 9 to 5")
    with app.app_context(), tenant_context(tenant):
        found = shipping.options(US_NY, 1000, 0, settings)
        assert [(o.key.startswith("rate-"), o.name, o.price_cents) for o in found] == [
            (True, "Standard", 500),
            (False, "Local pickup", 0),
        ]
        pickup = found[-1]
        assert pickup.is_pickup and pickup.kind == "pickup" and pickup.id == "pickup"
        assert pickup.instructions == "Counter, 1 Main St, 9 to 5"
        # Even where the shop does not ship, the shopper can come and collect.
        assert [o.name for o in shipping.options({"country": "FR"}, 1000, 0, settings)] == [
            "Local pickup"
        ]
        assert shipping.option_by_key("pickup", {"country": "FR"}, 1000, 0, settings) == pickup
        assert shipping.option_by_key("pickup", US_NY, 1000, 0, NO_PICKUP) is None


def test_the_chosen_option_is_priced_again_at_every_step(app, make_tenant):
    tenant = make_tenant()
    ids = seed_zones(
        app,
        tenant,
        [
            (
                "Domestic",
                ["US"],
                [],
                [
                    flat("Standard", 500, free_over_cents=5000),
                    {
                        "name": "Light",
                        "kind": "weight",
                        "min_value": 0,
                        "max_value": 2000,
                        "price_cents": 400,
                    },
                ],
            ),
            ("Canada", ["CA"], [], [flat("Canada post", 1500)]),
        ],
    )
    key, light = f"rate-{ids['Standard']}", f"rate-{ids['Light']}"
    with app.app_context(), tenant_context(tenant):
        option = shipping.option_by_key(key, US_NY, 1000, 0, NO_PICKUP)
        assert option is not None and option.price_cents == 500 and option.zone_name == "Domestic"
        assert shipping.option_by_key(key, US_NY, 6000, 0, NO_PICKUP).price_cents == 0
        assert shipping.option_by_key(light, US_NY, 1000, 1500, NO_PICKUP).price_cents == 400
        assert shipping.option_by_key(light, US_NY, 1000, 2500, NO_PICKUP) is None  # too heavy
        # Another zone's rate for this address, or a forged key: not offered.
        canada = f"rate-{ids['Canada post']}"
        assert shipping.option_by_key(canada, US_NY, 1000, 0, NO_PICKUP) is None
        assert shipping.option_by_key("rate-999999", US_NY, 1000, 0, NO_PICKUP) is None
        db.session.delete(db.session.get(ShippingRate, ids["Standard"]))
        db.session.commit()
        assert shipping.option_by_key(key, US_NY, 1000, 0, NO_PICKUP) is None


# --- taxes ---------------------------------------------------------------------------


def tax_settings(included=False, shipping_taxed=False) -> ShopSettings:
    return ShopSettings(prices_include_tax=included, tax_shipping=shipping_taxed)


def test_tax_added_on_top_or_taken_out_of_prices_rounds_per_line(app, make_tenant):
    tenant = make_tenant()
    seed_tax_rates(app, tenant, [("GB", "", "VAT", 2000)])
    uk = {"country": "GB", "region": ""}
    with app.app_context(), tenant_context(tenant):
        added = taxes.compute([999, 999, 999], 0, uk, tax_settings())
        # 1.998 each, half up to 2.00: 6.00 (the whole order's 5.994 would be 5.99).
        assert added.lines == [{"name": "VAT 20%", "rate_bp": 2000, "amount_cents": 600}]
        assert (added.total_cents, added.included, added.line_cents) == (600, False, [200] * 3)

        inside = taxes.compute([999, 999, 999], 0, uk, tax_settings(included=True))
        # 9.99 - 9.99 / 1.2 = 1.665 each, half up to 1.67: 5.01.
        assert inside.lines == [{"name": "VAT 20%", "rate_bp": 2000, "amount_cents": 501}]
        assert (inside.total_cents, inside.included, inside.line_cents) == (501, True, [167] * 3)

        # Exactly half a cent rounds up: 25 at 10 % is 2.5.
        assert taxes.apply_rates(
            [25], 0, [("Tax", 1000)], included=False, tax_shipping=False
        ).line_cents == [3]
        # A country without rates is not taxed, whichever way prices are entered.
        for included in (False, True):
            none = taxes.compute([999], 500, {"country": "FR"}, tax_settings(included, True))
            assert (none.lines, none.total_cents, none.shipping_cents) == ([], 0, 0)


def test_region_rates_add_to_the_country_rates(app, make_tenant):
    tenant = make_tenant()
    seed_tax_rates(
        app,
        tenant,
        [
            ("CA", "", "GST", 500),
            ("CA", "CA-BC", "PST", 700),
            ("CA", "CA-QC", "QST", 998),
            ("US", "US-CA", "Sales tax", 725),
            ("US", "US-NY", "Sales tax", 400),
        ],
    )
    with app.app_context(), tenant_context(tenant):
        bc = taxes.compute([10000], 0, {"country": "CA", "region": "BC"}, tax_settings())
        assert bc.lines == [
            {"name": "GST 5%", "rate_bp": 500, "amount_cents": 500},
            {"name": "PST 7%", "rate_bp": 700, "amount_cents": 700},
        ]
        assert bc.total_cents == 1200
        on = taxes.compute([10000], 0, {"country": "CA", "region": "CA-ON"}, tax_settings())
        assert on.lines == [{"name": "GST 5%", "rate_bp": 500, "amount_cents": 500}]
        # Prices with tax: 112.00 holds 12 % in all, 5/112 and 7/112 of it each.
        inside = taxes.compute(
            [11200], 0, {"country": "CA", "region": "CA-BC"}, tax_settings(included=True)
        )
        assert [line["amount_cents"] for line in inside.lines] == [500, 700]
        ca = taxes.compute([1000], 0, US_CA, tax_settings())
        assert ca.lines == [{"name": "Sales tax 7.25%", "rate_bp": 725, "amount_cents": 73}]
        assert (
            taxes.compute([1000], 0, {"country": "US", "region": "TX"}, tax_settings()).lines == []
        )


def test_shipping_is_taxed_only_when_the_shop_says_so(app, make_tenant):
    tenant = make_tenant()
    seed_tax_rates(app, tenant, [("DE", "", "MwSt", 1900)])
    de = {"country": "DE"}
    with app.app_context(), tenant_context(tenant):
        untaxed = taxes.compute([1000], 490, de, tax_settings())
        assert (untaxed.total_cents, untaxed.shipping_cents) == (190, 0)
        taxed = taxes.compute([1000], 490, de, tax_settings(shipping_taxed=True))
        # 4.90 * 19 % = 0.931 -> 0.93.
        assert (taxed.total_cents, taxed.shipping_cents, taxed.line_cents) == (283, 93, [190])
        inside = taxes.compute([1190], 595, de, tax_settings(included=True, shipping_taxed=True))
        assert (inside.total_cents, inside.shipping_cents) == (285, 95)


def test_discounts_lower_the_taxed_amount(app, make_tenant):
    tenant = make_tenant()
    seed_tax_rates(app, tenant, [("GB", "", "VAT", 2000)])
    with app.app_context(), tenant_context(tenant):
        # Lines of 30.00 and 10.00 with 10.00 off the order: 22.50 and 7.50 are taxed.
        amounts = taxes.spread_discount(1000, [3000, 1000])
        assert amounts == [2250, 750]
        result = taxes.compute(amounts, 0, {"country": "GB"}, tax_settings())
        assert result.line_cents == [450, 150] and result.total_cents == 600
    # Shares always add up to the discount exactly, and never make a line negative.
    assert taxes.spread_discount(100, [333, 333, 334]) == [300, 300, 300]
    assert sum(taxes.spread_discount(1000, [999, 999, 1])) == 1999 - 1000
    assert taxes.spread_discount(5000, [1000, 2000]) == [0, 0]
    assert taxes.spread_discount(0, [1000]) == [1000]


# --- back office: shipping -------------------------------------------------------------


def audit_actions(app, tenant) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.tenant_id == tenant.id)
                .order_by(AuditEvent.id)
            )
        )


def zones_of(app, tenant) -> list[tuple[str, list[str], list[str]]]:
    with app.app_context(), tenant_context(tenant):
        return [
            (z.name, z.countries, z.regions)
            for z in db.session.scalars(select(ShippingZone).order_by(ShippingZone.id))
        ]


def test_zones_created_edited_and_deleted_in_the_back_office(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["settings"])
    page = client.get("/admin/settings/shipping")
    assert page.status_code == 200 and "You have no shipping zones yet" in page.text

    bad = client.post(
        "/admin/settings/shipping/zones/new",
        data={"name": "", "other_countries": "MX, ZZ", "regions": ""},
    )
    assert bad.status_code == 400
    assert "Please correct the fields marked below. Nothing was saved." in bad.text
    assert "Enter a name for the zone, like Domestic." in bad.text
    assert "Unknown country code: ZZ. Use two-letter codes like MX or BR" in bad.text
    assert 'value="MX, ZZ"' in bad.text  # what was typed stays
    none = client.post("/admin/settings/shipping/zones/new", data={"name": "Nowhere"})
    assert none.status_code == 400 and "Choose at least one country." in none.text

    made = client.post(
        "/admin/settings/shipping/zones/new",
        data={"name": "Domestic", "countries": ["US", "CA"], "other_countries": "mx"},
        follow_redirects=True,
    )
    assert made.status_code == 200
    assert "Zone “Domestic” was created. Now add the rates shoppers can choose." in made.text
    assert zones_of(app, tenant) == [("Domestic", ["CA", "MX", "US"], [])]

    overlap = client.post(
        "/admin/settings/shipping/zones/new",
        data={"name": "Also US", "countries": ["US"]},
    )
    assert overlap.status_code == 400
    assert "United States is already in the zone “Domestic”." in overlap.text
    regions = client.post(
        "/admin/settings/shipping/zones/new",
        data={
            "name": "West",
            "countries": ["US", "GB"],
            "regions": "US-CA, oregon, Narnia, GB-SCT",
        },
    )
    assert regions.status_code == 400
    assert "“Narnia” is not a region of the countries in this zone." in regions.text
    assert "United Kingdom addresses have no list of regions" in regions.text
    assert "US-CA, oregon, Narnia, GB-SCT</textarea>" in regions.text
    assert len(zones_of(app, tenant)) == 1

    west = client.post(
        "/admin/settings/shipping/zones/new",
        data={"name": "West", "countries": ["US"], "regions": "US-CA, oregon"},
    )
    assert west.status_code == 302
    assert zones_of(app, tenant)[1] == ("West", ["US"], ["US-CA", "US-OR"])
    west_id = int(west.headers["Location"].rsplit("/", 1)[1])
    again = client.post(
        "/admin/settings/shipping/zones/new",
        data={"name": "Cali", "countries": ["US"], "regions": "California"},
    )
    assert again.status_code == 400 and "California is already in the zone “West”." in again.text

    edited = client.post(
        f"/admin/settings/shipping/zones/{west_id}",
        data={"name": "West coast", "countries": ["US"], "regions": "US-CA, US-OR, US-WA"},
        follow_redirects=True,
    )
    assert "Zone saved." in edited.text
    assert zones_of(app, tenant)[1] == ("West coast", ["US"], ["US-CA", "US-OR", "US-WA"])

    confirm = client.get(f"/admin/settings/shipping/zones/{west_id}/delete")
    assert confirm.status_code == 200 and "Delete the zone West coast?" in confirm.text
    assert len(zones_of(app, tenant)) == 2  # asking changes nothing
    gone = client.post(f"/admin/settings/shipping/zones/{west_id}/delete", follow_redirects=True)
    assert "Zone “West coast” and its rates were deleted." in gone.text
    assert [z[0] for z in zones_of(app, tenant)] == ["Domestic"]
    assert audit_actions(app, tenant) == [
        "shipping.zone_created",
        "shipping.zone_created",
        "shipping.zone_updated",
        "shipping.zone_deleted",
    ]


def rate_form(**overrides) -> dict[str, str]:
    form = {
        "name": "Standard",
        "kind": "flat",
        "price": "5.00",
        "free_over": "",
        "weight_min": "",
        "weight_max": "",
        "price_min": "",
        "price_max": "",
    }
    form.update(overrides)
    return form


def rates_of(app, tenant) -> list[tuple]:
    with app.app_context(), tenant_context(tenant):
        return [
            (r.name, r.kind, r.min_value, r.max_value, r.price_cents, r.free_over_cents)
            for r in db.session.scalars(select(ShippingRate).order_by(ShippingRate.id))
        ]


def test_rates_created_edited_and_deleted_in_the_back_office(app, make_tenant, staff_client):
    tenant = make_tenant()
    seed_zones(app, tenant, [("Domestic", ["US"], [], [])])
    with app.app_context(), tenant_context(tenant):
        zone_id = db.session.scalar(select(ShippingZone.id))
    client = staff_client(tenant, permissions=["settings"])
    page = client.get(f"/admin/settings/shipping/zones/{zone_id}")
    assert "No rates yet: shoppers in this zone cannot check out" in page.text

    new = f"/admin/settings/shipping/zones/{zone_id}/rates/new"
    bad = client.post(new, data=rate_form(name="", price="five", free_over="-1"))
    assert bad.status_code == 400
    assert "Enter a name shoppers see, like Standard or Express." in bad.text
    assert "“five” cannot be read as the price. Write it like 12.50." in bad.text
    assert "The order value cannot be negative." in bad.text
    heavy = client.post(
        new, data=rate_form(name="Heavy", kind="weight", weight_min="5", weight_max="2.5")
    )
    assert heavy.status_code == 400
    assert "The highest value must be at least the lowest one." in heavy.text
    assert 'value="2.5"' in heavy.text
    kg = client.post(new, data=rate_form(kind="weight", weight_min="1.2345"))
    assert "Enter a weight in kilograms, like 1.5 (at most 3 decimals)." in kg.text
    empty = client.post(new, data=rate_form(kind="price"))
    assert "Enter an order value range: a lowest value, a highest one, or both." in empty.text
    assert rates_of(app, tenant) == []

    assert client.post(new, data=rate_form(free_over="100")).status_code == 302
    assert (
        client.post(
            new, data=rate_form(name="Light", kind="weight", weight_max="1.5", price="3.50")
        ).status_code
        == 302
    )
    assert (
        client.post(
            new, data=rate_form(name="Big orders", kind="price", price_min="50", price="0")
        ).status_code
        == 302
    )
    assert rates_of(app, tenant) == [
        ("Standard", "flat", 0, None, 500, 10000),
        ("Light", "weight", 0, 1500, 350, None),
        ("Big orders", "price", 5000, None, 0, None),
    ]
    listing = client.get("/admin/settings/shipping")
    assert "Up to 1.5 kg" in listing.text and "Orders from $50.00" in listing.text
    assert "$100.00" in listing.text and "Free" in listing.text

    with app.app_context(), tenant_context(tenant):
        light_id = db.session.scalar(select(ShippingRate.id).where(ShippingRate.name == "Light"))
    form = client.get(f"/admin/settings/shipping/rates/{light_id}")
    assert 'value="1.5"' in form.text and 'value="3.50"' in form.text
    saved = client.post(
        f"/admin/settings/shipping/rates/{light_id}",
        data=rate_form(name="Light parcels", kind="weight", weight_min="0.5", weight_max="2"),
        follow_redirects=True,
    )
    assert "Rate “Light parcels” saved." in saved.text
    assert rates_of(app, tenant)[1] == ("Light parcels", "weight", 500, 2000, 500, None)

    confirm = client.get(f"/admin/settings/shipping/rates/{light_id}/delete")
    assert "Delete the rate Light parcels?" in confirm.text
    gone = client.post(f"/admin/settings/shipping/rates/{light_id}/delete", follow_redirects=True)
    assert "Rate “Light parcels” was deleted." in gone.text
    assert [r[0] for r in rates_of(app, tenant)] == ["Standard", "Big orders"]
    assert audit_actions(app, tenant).count("shipping.rate_created") == 3
    assert {"shipping.rate_updated", "shipping.rate_deleted"} <= set(audit_actions(app, tenant))


def test_local_pickup_settings(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["settings"])
    missing = client.post("/admin/settings/shipping/pickup", data={"local_pickup": "1"})
    assert missing.status_code == 400
    assert "Tell shoppers where and when to collect their order" in missing.text
    done = client.post(
        "/admin/settings/shipping/pickup",
        data={"local_pickup": "1", "pickup_instructions": "Shop counter, weekdays 9 to 5"},
        follow_redirects=True,
    )
    assert "Local pickup is on." in done.text
    with app.app_context(), tenant_context(tenant):
        settings = get_settings()
        assert settings.local_pickup and settings.pickup_instructions == (
            "Shop counter, weekdays 9 to 5"
        )
        assert [o.name for o in shipping.options({"country": "JP"}, 100, 0, settings)] == [
            "Local pickup"
        ]
    off = client.post(
        "/admin/settings/shipping/pickup",
        data={"pickup_instructions": "Shop counter, weekdays 9 to 5"},
        follow_redirects=True,
    )
    assert "Local pickup is off." in off.text
    assert audit_actions(app, tenant).count("shipping.pickup_updated") == 2


# --- back office: taxes --------------------------------------------------------------


def tax_rows(app, tenant) -> list[tuple[str, str, str, int]]:
    with app.app_context(), tenant_context(tenant):
        return [
            (r.country, r.region, r.name, r.rate_bp)
            for r in db.session.scalars(select(TaxRate).order_by(TaxRate.id))
        ]


def test_tax_rates_and_switches_in_the_back_office(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["settings"])
    page = client.get("/admin/settings/taxes")
    assert page.status_code == 200 and "No tax rates yet, so orders are not taxed." in page.text

    bad = client.post(
        "/admin/settings/taxes/new",
        data={"country": "GB", "region": "US-CA", "name": "", "rate": "twenty"},
    )
    assert bad.status_code == 400
    assert "United Kingdom has no list of regions here" in bad.text
    assert "Enter the name shown on orders, like VAT or Sales tax." in bad.text
    assert "Enter the rate as a percentage, like 20 or 8.25." in bad.text
    fine = client.post(
        "/admin/settings/taxes/new",
        data={"country": "US", "region": "US-NY", "name": "Sales tax", "rate": "8.875"},
    )
    assert fine.status_code == 400
    assert "Rates are kept to a hundredth of a percent: 8.875 % cannot be stored" in fine.text
    assert 'value="8.875"' in fine.text
    assert (
        client.post(
            "/admin/settings/taxes/new",
            data={"country": "US", "region": "FR-75", "name": "X", "rate": "1"},
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/admin/settings/taxes/new", data={"country": "ZZ", "name": "X", "rate": "1"}
        ).status_code
        == 400
    )
    assert tax_rows(app, tenant) == []

    added = client.post(
        "/admin/settings/taxes/new",
        data={"country": "US", "region": "US-CA", "name": "Sales tax", "rate": "7.25"},
        follow_redirects=True,
    )
    assert "Tax rate “Sales tax 7.25%” was added." in added.text
    assert "California" in added.text and "7.25 %" in added.text
    client.post("/admin/settings/taxes/new", data={"country": "GB", "name": "VAT", "rate": "20%"})
    twice = client.post(
        "/admin/settings/taxes/new", data={"country": "GB", "name": "vat", "rate": "5"}
    )
    assert twice.status_code == 400
    assert "There is already a rate named “vat” for United Kingdom." in twice.text
    assert tax_rows(app, tenant) == [("US", "US-CA", "Sales tax", 725), ("GB", "", "VAT", 2000)]

    with app.app_context(), tenant_context(tenant):
        vat_id = db.session.scalar(select(TaxRate.id).where(TaxRate.name == "VAT"))
    edit = client.get(f"/admin/settings/taxes/{vat_id}")
    assert 'value="20"' in edit.text
    client.post(
        f"/admin/settings/taxes/{vat_id}", data={"country": "GB", "name": "VAT", "rate": "17.5"}
    )
    assert tax_rows(app, tenant)[1] == ("GB", "", "VAT", 1750)

    switched = client.post(
        "/admin/settings/taxes",
        data={"prices_include_tax": "1", "tax_shipping": "1"},
        follow_redirects=True,
    )
    assert "Tax settings saved." in switched.text
    with app.app_context(), tenant_context(tenant):
        settings = get_settings()
        assert settings.prices_include_tax and settings.tax_shipping
    same = client.post(
        "/admin/settings/taxes",
        data={"prices_include_tax": "1", "tax_shipping": "1"},
        follow_redirects=True,
    )
    assert "Nothing to save: no tax setting changed." in same.text

    confirm = client.get(f"/admin/settings/taxes/{vat_id}/delete")
    assert "Delete the tax rate VAT (17.5 %)?" in confirm.text
    gone = client.post(f"/admin/settings/taxes/{vat_id}/delete", follow_redirects=True)
    assert "Tax rate “VAT 17.5%” was deleted." in gone.text
    assert tax_rows(app, tenant) == [("US", "US-CA", "Sales tax", 725)]
    assert audit_actions(app, tenant) == [
        "tax.rate_created",
        "tax.rate_created",
        "tax.rate_updated",
        "tax.settings_updated",
        "tax.rate_deleted",
    ]


# --- access and isolation ------------------------------------------------------------


def test_staff_without_the_settings_area_are_refused(app, make_tenant, staff_client):
    tenant = make_tenant()
    ids = seed_zones(app, tenant, [("Domestic", ["US"], [], [flat("Standard", 500)])])
    seed_tax_rates(app, tenant, [("GB", "", "VAT", 2000)])
    with app.app_context(), tenant_context(tenant):
        zone_id = db.session.scalar(select(ShippingZone.id))
        tax_id = db.session.scalar(select(TaxRate.id))
    client = staff_client(tenant, permissions=["products", "orders"])
    rate_id = ids["Standard"]
    for url in (
        "/admin/settings/shipping",
        "/admin/settings/shipping/zones/new",
        f"/admin/settings/shipping/zones/{zone_id}",
        f"/admin/settings/shipping/zones/{zone_id}/rates/new",
        f"/admin/settings/shipping/rates/{rate_id}",
        "/admin/settings/taxes",
        f"/admin/settings/taxes/{tax_id}",
    ):
        assert client.get(url).status_code == 403, url
    for url in (
        f"/admin/settings/shipping/zones/{zone_id}/delete",
        f"/admin/settings/shipping/rates/{rate_id}/delete",
        f"/admin/settings/taxes/{tax_id}/delete",
        "/admin/settings/shipping/pickup",
    ):
        assert client.post(url, data={"local_pickup": "1"}).status_code == 403, url
    assert zones_of(app, tenant) == [("Domestic", ["US"], [])]
    assert len(tax_rows(app, tenant)) == 1


def test_one_shop_cannot_reach_another_shops_zones_rates_or_taxes(app, make_tenant, staff_client):
    shop_a, shop_b = make_tenant(), make_tenant()
    ids = seed_zones(app, shop_a, [("Alpha zone", ["US"], [], [flat("Alpha rate", 500)])])
    seed_tax_rates(app, shop_a, [("US", "US-CA", "Alpha tax", 725)])
    with app.app_context(), tenant_context(shop_a):
        zone_id = db.session.scalar(select(ShippingZone.id))
        tax_id = db.session.scalar(select(TaxRate.id))
    rate_id = ids["Alpha rate"]
    b = staff_client(shop_b, role="owner")
    for url in (
        f"/admin/settings/shipping/zones/{zone_id}",
        f"/admin/settings/shipping/zones/{zone_id}/delete",
        f"/admin/settings/shipping/zones/{zone_id}/rates/new",
        f"/admin/settings/shipping/rates/{rate_id}",
        f"/admin/settings/shipping/rates/{rate_id}/delete",
        f"/admin/settings/taxes/{tax_id}",
        f"/admin/settings/taxes/{tax_id}/delete",
    ):
        assert b.get(url).status_code == 404, url
        assert b.post(url, data={"name": "Hijacked", "countries": ["FR"]}).status_code == 404, url
    assert "Alpha zone" not in b.get("/admin/settings/shipping").text
    assert "Alpha tax" not in b.get("/admin/settings/taxes").text
    # Shop B's checkout sees none of shop A's zones or rates.
    assert offered(app, shop_b, US_CA) == []
    with app.app_context(), tenant_context(shop_b):
        assert taxes.compute([1000], 0, US_CA, tax_settings()).total_cents == 0
    # Shop A's rows are untouched.
    assert zones_of(app, shop_a) == [("Alpha zone", ["US"], [])]
    assert rates_of(app, shop_a) == [("Alpha rate", "flat", 0, None, 500, None)]
    assert tax_rows(app, shop_a) == [("US", "US-CA", "Alpha tax", 725)]
    assert offered(app, shop_a, US_CA) == [("Alpha rate", 500)]
