"""Shipping zones and rates, local pickup, and taxes in the back office.

The rules and the form checks live in `tenants.shipping.services` and `.taxes`; these
views parse the request, call them and say what happened (the request commits once).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from saas import audit
from saas.auth import safe_next
from saas.db import atomic, db
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import get_or_404, paginate_or_404
from tenants.geo import addresses
from tenants.settings.services import COUNTRIES, get_settings
from tenants.shipping import defaults as shipping_defaults
from tenants.shipping import services as shipping
from tenants.shipping import taxes
from tenants.shipping.models import RateKind, ShippingRate, ShippingZone, TaxRate
from tenants.staff.models import Area

ZONES_PER_PAGE = 25
TAX_RATES_PER_PAGE = 50

RATE_KINDS = [
    (RateKind.FLAT.value, "Every order (flat)"),
    (RateKind.WEIGHT.value, "Orders by weight"),
    (RateKind.PRICE.value, "Orders by value"),
]


def _helpers() -> dict[str, Any]:
    return {
        "country_name": addresses.country_name,
        "region_name": addresses.region_name,
        "rate_condition": shipping.rate_condition,
        "zone_countries": shipping.zone_countries_text,
        "zone_regions": shipping.zone_regions_text,
        "percent": taxes.format_percent,
    }


# --- shipping ------------------------------------------------------------------------


def _reviewed() -> None:
    """A change to zones, rates or pickup is the merchant's own choice: nothing is left
    to confirm of the shipping a new shop started with."""
    if shipping_defaults.mark_reviewed(get_settings()):
        audit.record("shipping.reviewed")


@bp.post("/settings/shipping/confirm")
@requires(Area.SETTINGS)
def shipping_confirm() -> Any:
    """The merchant keeps the suggested shipping as it is."""
    if shipping_defaults.mark_reviewed(get_settings()):
        audit.record("shipping.reviewed")
        flash("Shipping confirmed: shoppers can choose it at checkout.")
    else:
        flash("Your shipping was already confirmed.")
    return redirect(safe_next(request.form.get("next"), url_for("backoffice.shipping_settings")))


def _shipping_page(
    pickup_values: dict[str, str], pickup_errors: dict[str, str], status: int = 200
) -> Any:
    settings = get_settings()
    query = (
        select(ShippingZone)
        .options(selectinload(ShippingZone.rates))
        .order_by(func.lower(ShippingZone.name), ShippingZone.id)
    )
    return render_template(
        "backoffice/shipping.html",
        page=paginate_or_404(query, ZONES_PER_PAGE),
        settings=settings,
        currency=settings.currency,
        suggestion=shipping_defaults.suggestion(settings) if settings.shipping_needs_review else "",
        pickup=pickup_values,
        errors=pickup_errors,
        **_helpers(),
    ), status


@bp.get("/settings/shipping")
@requires(Area.SETTINGS)
def shipping_settings() -> Any:
    settings = get_settings()
    values = {
        "local_pickup": "1" if settings.local_pickup else "",
        "pickup_instructions": settings.pickup_instructions,
    }
    return _shipping_page(values, {})


@bp.post("/settings/shipping/pickup")
@requires(Area.SETTINGS)
def shipping_pickup() -> Any:
    try:
        with atomic():
            changed = shipping.update_pickup(request.form, get_settings())
    except shipping.ShippingFormInvalid as invalid:
        values = {
            "local_pickup": request.form.get("local_pickup", ""),
            "pickup_instructions": request.form.get("pickup_instructions", ""),
        }
        return _shipping_page(values, invalid.errors, 400)
    if changed:
        audit.record("shipping.pickup_updated", fields=changed)
        _reviewed()
        settings = get_settings()
        flash("Local pickup is on." if settings.local_pickup else "Local pickup is off.")
    else:
        flash("Nothing to save: local pickup was not changed.")
    return redirect(url_for("backoffice.shipping_settings") + "#pickup")


def _zone_form(
    zone: ShippingZone | None, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Any:
    settings = get_settings()
    typed = str(values.get("other_countries") or "").replace(",", " ").upper().split()
    shown = {*values.get("countries", []), *typed, *(zone.countries if zone else [])}
    chosen = sorted((c for c in shown if addresses.has_regions(c)), key=addresses.country_name)
    return render_template(
        "backoffice/shipping_zone.html",
        zone=zone,
        values=values,
        errors=errors,
        common=shipping.common_countries(settings.country),
        region_lists=[(addresses.country_name(c), addresses.regions(c)) for c in chosen],
        currency=settings.currency,
        **_helpers(),
    ), status


@bp.route("/settings/shipping/zones/new", methods=["GET", "POST"], endpoint="shipping_zone_new")
@bp.route("/settings/shipping/zones/<int:zone_id>", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def shipping_zone_edit(zone_id: int | None = None) -> Any:
    """Create a zone (no id) or edit one: the same form and checks."""
    zone = get_or_404(ShippingZone, zone_id)
    if request.method == "GET":
        return _zone_form(zone, shipping.zone_form_values(zone, get_settings().country), {})
    try:
        with atomic():
            saved = shipping.save_zone(zone, request.form)
    except shipping.ShippingFormInvalid as invalid:
        again = get_or_404(ShippingZone, zone_id)
        return _zone_form(again, shipping.zone_form_input(request.form), invalid.errors, 400)
    if zone is None:
        audit.record(
            "shipping.zone_created", zone_id=saved.id, name=saved.name, countries=saved.countries
        )
        flash(f"Zone “{saved.name}” was created. Now add the rates shoppers can choose.")
    else:
        audit.record(
            "shipping.zone_updated",
            zone_id=saved.id,
            name=saved.name,
            countries=saved.countries,
            regions=saved.regions,
        )
        flash("Zone saved.")
    _reviewed()
    return redirect(url_for("backoffice.shipping_zone_edit", zone_id=saved.id))


@bp.route("/settings/shipping/zones/<int:zone_id>/delete", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def shipping_zone_delete(zone_id: int) -> Any:
    zone = get_or_404(ShippingZone, zone_id)
    if request.method == "POST":
        name = zone.name
        audit.record("shipping.zone_deleted", zone_id=zone.id, name=name)
        db.session.delete(zone)
        _reviewed()
        flash(f"Zone “{name}” and its rates were deleted.")
        return redirect(url_for("backoffice.shipping_settings"))
    return render_template("backoffice/shipping_zone_delete.html", zone=zone, **_helpers())


def _rate_form(
    zone: ShippingZone,
    rate: ShippingRate | None,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Any:
    return render_template(
        "backoffice/shipping_rate.html",
        zone=zone,
        rate=rate,
        values=values,
        errors=errors,
        kinds=RATE_KINDS,
        currency=get_settings().currency,
    ), status


def _rate_input() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in shipping.RATE_FIELDS}


def _zone_and_rate(zone_id: int, rate_id: int | None) -> tuple[ShippingZone, ShippingRate | None]:
    """The rate being edited and its zone, or (no rate id) the zone a new rate goes to."""
    rate = get_or_404(ShippingRate, rate_id)
    return (rate.zone if rate else get_or_404(ShippingZone, zone_id)), rate


@bp.route(
    "/settings/shipping/zones/<int:zone_id>/rates/new",
    methods=["GET", "POST"],
    endpoint="shipping_rate_new",
)
@bp.route("/settings/shipping/rates/<int:rate_id>", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def shipping_rate_edit(zone_id: int = 0, rate_id: int | None = None) -> Any:
    """Add a rate to a zone (its id) or edit one (the rate's id): the same form and checks."""
    zone, rate = _zone_and_rate(zone_id, rate_id)
    currency = get_settings().currency
    if request.method == "GET":
        return _rate_form(zone, rate, shipping.rate_form_values(rate, currency), {})
    try:
        with atomic():
            saved = shipping.save_rate(zone, rate, request.form, currency)
    except shipping.ShippingFormInvalid as invalid:
        return _rate_form(*_zone_and_rate(zone_id, rate_id), _rate_input(), invalid.errors, 400)
    if rate is None:
        audit.record(
            "shipping.rate_created",
            zone_id=zone.id,
            rate_id=saved.id,
            name=saved.name,
            kind=saved.kind,
        )
        flash(f"Rate “{saved.name}” was added to {zone.name}.")
    else:
        audit.record(
            "shipping.rate_updated", zone_id=saved.zone_id, rate_id=saved.id, name=saved.name
        )
        flash(f"Rate “{saved.name}” saved.")
    _reviewed()
    return redirect(url_for("backoffice.shipping_zone_edit", zone_id=saved.zone_id) + "#rates")


@bp.route("/settings/shipping/rates/<int:rate_id>/delete", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def shipping_rate_delete(rate_id: int) -> Any:
    rate = get_or_404(ShippingRate, rate_id)
    if request.method == "POST":
        zone_id, name = rate.zone_id, rate.name
        audit.record("shipping.rate_deleted", zone_id=zone_id, rate_id=rate.id, name=name)
        db.session.delete(rate)
        _reviewed()
        flash(f"Rate “{name}” was deleted.")
        return redirect(url_for("backoffice.shipping_zone_edit", zone_id=zone_id) + "#rates")
    return render_template(
        "backoffice/shipping_rate_delete.html",
        rate=rate,
        currency=get_settings().currency,
        **_helpers(),
    )


# --- taxes ---------------------------------------------------------------------------


@bp.route("/settings/taxes", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def taxes_settings() -> Any:
    settings = get_settings()
    if request.method == "POST":
        changed = taxes.update_tax_settings(request.form, settings)
        if changed:
            audit.record(
                "tax.settings_updated",
                prices_include_tax=settings.prices_include_tax,
                tax_shipping=settings.tax_shipping,
            )
            flash("Tax settings saved.")
        else:
            flash("Nothing to save: no tax setting changed.")
        return redirect(url_for("backoffice.taxes_settings"))
    query = select(TaxRate).order_by(TaxRate.country, TaxRate.region, func.lower(TaxRate.name))
    page = paginate_or_404(query, TAX_RATES_PER_PAGE)
    return render_template("backoffice/taxes.html", page=page, settings=settings, **_helpers())


def _tax_form(
    rate: TaxRate | None, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Any:
    return render_template(
        "backoffice/taxes_edit.html",
        rate=rate,
        values=values,
        errors=errors,
        countries=COUNTRIES,
        region_groups=taxes.region_choices(),
    ), status


def _tax_input() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in ("country", "region", "name", "rate")}


def _audit_tax(action: str, rate: TaxRate) -> None:
    audit.record(
        action,
        tax_rate_id=rate.id,
        country=rate.country,
        region=rate.region,
        name=rate.name,
        rate_bp=rate.rate_bp,
    )


@bp.route("/settings/taxes/new", methods=["GET", "POST"], endpoint="tax_new")
@bp.route("/settings/taxes/<int:rate_id>", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def tax_edit(rate_id: int | None = None) -> Any:
    """Add a tax rate (no id) or edit one: the same form and checks."""
    rate = get_or_404(TaxRate, rate_id)
    if request.method == "GET":
        return _tax_form(rate, taxes.tax_form_values(rate, get_settings().country), {})
    try:
        with atomic():
            saved = taxes.save_tax_rate(rate, request.form)
    except taxes.TaxFormInvalid as invalid:
        return _tax_form(get_or_404(TaxRate, rate_id), _tax_input(), invalid.errors, 400)
    _audit_tax("tax.rate_created" if rate is None else "tax.rate_updated", saved)
    name = taxes.line_name(saved.name, saved.rate_bp)
    flash(f"Tax rate “{name}” was added." if rate is None else f"Tax rate “{name}” saved.")
    return redirect(url_for("backoffice.taxes_settings"))


@bp.route("/settings/taxes/<int:rate_id>/delete", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def tax_delete(rate_id: int) -> Any:
    rate = get_or_404(TaxRate, rate_id)
    if request.method == "POST":
        label = taxes.line_name(rate.name, rate.rate_bp)
        _audit_tax("tax.rate_deleted", rate)
        db.session.delete(rate)
        flash(f"Tax rate “{label}” was deleted. Orders already placed keep their taxes.")
        return redirect(url_for("backoffice.taxes_settings"))
    return render_template("backoffice/taxes_delete.html", rate=rate, **_helpers())
