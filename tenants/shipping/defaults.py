"""The shipping a new shop starts with, and the merchant's review of it.

A shop with no zone cannot sell: every checkout ends with "we don't ship to this
address yet". So a shop that will be set up before launch (a signup) starts with a
domestic zone and one flat rate, flagged for review: the setup checklist shows
"Review your shipping rate" and launching waits until the merchant confirms the rate,
or changes the zones, rates or local pickup (which says they looked at them).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from saas.db import db
from saas.models import Tenant
from saas.money import exponent, format_money
from tenants.geo import addresses
from tenants.settings.models import ShopSettings
from tenants.shipping.models import RateKind, ShippingRate, ShippingZone

# Signup asks no country; a new shop's currency defaults to USD, so its home is the US
# until the merchant says otherwise (the review step names the country).
DEFAULT_COUNTRY = "US"
DEFAULT_ZONE_NAME = "Domestic"
DEFAULT_RATE_NAME = "Standard"


def default_rate_cents(currency: str) -> int:
    """A plain parcel's price: 5.00 in most currencies, 1,000 where there are no cents."""
    return 500 if exponent(currency) else 1000


def seed_new_shop(session: Session, tenant: Tenant) -> None:
    """A new shop's suggested shipping, flagged for review (`saas.tenancy.provisioning`
    runs this in its new schema, after the settings row's seed).

    Only for a shop that opens when its merchant launches it (a signup): one created
    already open (by an operator, the demo) is set up by whoever made it.
    """
    if tenant.launched_at is not None:
        return
    settings = session.get(ShopSettings, 1)
    if settings is None:
        raise LookupError("the shop's settings row must be seeded before its shipping")
    country = settings.country or DEFAULT_COUNTRY
    zone = ShippingZone(name=DEFAULT_ZONE_NAME, countries=[country], regions=[])
    zone.rates = [
        ShippingRate(
            name=DEFAULT_RATE_NAME,
            kind=RateKind.FLAT,
            min_value=0,
            price_cents=default_rate_cents(settings.currency or "USD"),
        )
    ]
    session.add(zone)
    settings.shipping_needs_review = True


def can_deliver(settings: ShopSettings) -> bool:
    """Whether a shopper has a way to receive an order: local pickup, or a zone with a rate."""
    if settings.local_pickup:
        return True
    return db.session.scalar(select(ShippingRate.id).limit(1)) is not None


def suggestion(settings: ShopSettings) -> str:
    """What the shop ships with now, for the review step: "Standard, $5.00, to the
    United States"; several zones or rates are summed up."""
    zones = db.session.scalars(
        select(ShippingZone).options(selectinload(ShippingZone.rates)).order_by(ShippingZone.id)
    ).all()
    rates = [(zone, rate) for zone in zones for rate in zone.rates]
    if len(rates) == 1:
        zone, rate = rates[0]
        where = ", ".join(addresses.country_name(c) for c in zone.countries)
        return f"{rate.name}, {format_money(rate.price_cents, settings.currency)}, to {where}"
    if rates:
        return f"{len(rates)} rates in {len(zones)} zone{'s' if len(zones) > 1 else ''}"
    return "local pickup only" if settings.local_pickup else "no shipping rate"


def mark_reviewed(settings: ShopSettings) -> bool:
    """The merchant confirmed (or edited) the shop's shipping. False if nothing to review."""
    if not settings.shipping_needs_review:
        return False
    settings.shipping_needs_review = False
    db.session.flush()
    return True
