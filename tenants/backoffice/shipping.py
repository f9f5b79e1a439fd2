"""Shipping zones and rates, local pickup, and taxes in the back office.

The rules and the form checks live in `tenants.shipping.services` and `.taxes`; these
views parse the request, call them and say what happened (the request commits once).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from saas import audit
from saas.db import atomic, db
from saas.paging import paginate
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.geo import addresses
from tenants.settings.services import COUNTRIES, get_settings
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


def _zone(zone_id: int) -> ShippingZone:
    zone = db.session.get(ShippingZone, zone_id)  # only this shop's schema
    if zone is None:
        abort(404)
    return zone


def _rate(rate_id: int) -> ShippingRate:
    rate = db.session.get(ShippingRate, rate_id)
    if rate is None:
        abort(404)
    return rate


def _tax_rate(rate_id: int) -> TaxRate:
    rate = db.session.get(TaxRate, rate_id)
    if rate is None:
        abort(404)
    return rate


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


def _shipping_page(
    pickup_values: dict[str, str], pickup_errors: dict[str, str], status: int = 200
) -> Any:
    settings = get_settings()
    query = (
        select(ShippingZone)
        .options(selectinload(ShippingZone.rates))
        .order_by(func.lower(ShippingZone.name), ShippingZone.id)
    )
    page = paginate(query, ZONES_PER_PAGE)
    if page.page > page.pages:
        abort(404)
    return render_template(
        "backoffice/shipping.html",
        page=page,
        settings=settings,
        currency=settings.currency,
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


@bp.route("/settings/shipping/zones/new", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def shipping_zone_new() -> Any:
    if request.method == "GET":
        return _zone_form(None, shipping.zone_form_values(None, get_settings().country), {})
    try:
        with atomic():
            zone = shipping.save_zone(None, request.form)
    except shipping.ShippingFormInvalid as invalid:
        return _zone_form(None, shipping.zone_form_input(request.form), invalid.errors, 400)
    audit.record("shipping.zone_created", zone_id=zone.id, name=zone.name, countries=zone.countries)
    flash(f"Zone “{zone.name}” was created. Now add the rates shoppers can choose.")
    return redirect(url_for("backoffice.shipping_zone_edit", zone_id=zone.id))


@bp.route("/settings/shipping/zones/<int:zone_id>", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def shipping_zone_edit(zone_id: int) -> Any:
    zone = _zone(zone_id)
    if request.method == "GET":
        return _zone_form(zone, shipping.zone_form_values(zone, get_settings().country), {})
    try:
        with atomic():
            shipping.save_zone(zone, request.form)
    except shipping.ShippingFormInvalid as invalid:
        return _zone_form(
            _zone(zone_id), shipping.zone_form_input(request.form), invalid.errors, 400
        )
    audit.record(
        "shipping.zone_updated",
        zone_id=zone.id,
        name=zone.name,
        countries=zone.countries,
        regions=zone.regions,
    )
    flash("Zone saved.")
    return redirect(url_for("backoffice.shipping_zone_edit", zone_id=zone.id))


@bp.route("/settings/shipping/zones/<int:zone_id>/delete", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def shipping_zone_delete(zone_id: int) -> Any:
    zone = _zone(zone_id)
    if request.method == "POST":
        name = zone.name
        audit.record("shipping.zone_deleted", zone_id=zone.id, name=name)
        db.session.delete(zone)
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


@bp.route("/settings/shipping/zones/<int:zone_id>/rates/new", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def shipping_rate_new(zone_id: int) -> Any:
    zone = _zone(zone_id)
    currency = get_settings().currency
    if request.method == "GET":
        return _rate_form(zone, None, shipping.rate_form_values(None, currency), {})
    try:
        with atomic():
            rate = shipping.save_rate(zone, None, request.form, currency)
    except shipping.ShippingFormInvalid as invalid:
        return _rate_form(_zone(zone_id), None, _rate_input(), invalid.errors, 400)
    audit.record(
        "shipping.rate_created", zone_id=zone.id, rate_id=rate.id, name=rate.name, kind=rate.kind
    )
    flash(f"Rate “{rate.name}” was added to {zone.name}.")
    return redirect(url_for("backoffice.shipping_zone_edit", zone_id=zone.id) + "#rates")


@bp.route("/settings/shipping/rates/<int:rate_id>", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def shipping_rate_edit(rate_id: int) -> Any:
    rate = _rate(rate_id)
    currency = get_settings().currency
    if request.method == "GET":
        return _rate_form(rate.zone, rate, shipping.rate_form_values(rate, currency), {})
    try:
        with atomic():
            shipping.save_rate(rate.zone, rate, request.form, currency)
    except shipping.ShippingFormInvalid as invalid:
        rate = _rate(rate_id)
        return _rate_form(rate.zone, rate, _rate_input(), invalid.errors, 400)
    audit.record("shipping.rate_updated", zone_id=rate.zone_id, rate_id=rate.id, name=rate.name)
    flash(f"Rate “{rate.name}” saved.")
    return redirect(url_for("backoffice.shipping_zone_edit", zone_id=rate.zone_id) + "#rates")


@bp.route("/settings/shipping/rates/<int:rate_id>/delete", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def shipping_rate_delete(rate_id: int) -> Any:
    rate = _rate(rate_id)
    if request.method == "POST":
        zone_id, name = rate.zone_id, rate.name
        audit.record("shipping.rate_deleted", zone_id=zone_id, rate_id=rate.id, name=name)
        db.session.delete(rate)
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
    page = paginate(
        select(TaxRate).order_by(TaxRate.country, TaxRate.region, func.lower(TaxRate.name)),
        TAX_RATES_PER_PAGE,
    )
    if page.page > page.pages:
        abort(404)
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


@bp.route("/settings/taxes/new", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def tax_new() -> Any:
    if request.method == "GET":
        return _tax_form(None, taxes.tax_form_values(None, get_settings().country), {})
    try:
        with atomic():
            rate = taxes.save_tax_rate(None, request.form)
    except taxes.TaxFormInvalid as invalid:
        return _tax_form(None, _tax_input(), invalid.errors, 400)
    _audit_tax("tax.rate_created", rate)
    flash(f"Tax rate “{taxes.line_name(rate.name, rate.rate_bp)}” was added.")
    return redirect(url_for("backoffice.taxes_settings"))


@bp.route("/settings/taxes/<int:rate_id>", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def tax_edit(rate_id: int) -> Any:
    rate = _tax_rate(rate_id)
    if request.method == "GET":
        return _tax_form(rate, taxes.tax_form_values(rate), {})
    try:
        with atomic():
            taxes.save_tax_rate(rate, request.form)
    except taxes.TaxFormInvalid as invalid:
        return _tax_form(_tax_rate(rate_id), _tax_input(), invalid.errors, 400)
    _audit_tax("tax.rate_updated", rate)
    flash(f"Tax rate “{taxes.line_name(rate.name, rate.rate_bp)}” saved.")
    return redirect(url_for("backoffice.taxes_settings"))


@bp.route("/settings/taxes/<int:rate_id>/delete", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def tax_delete(rate_id: int) -> Any:
    rate = _tax_rate(rate_id)
    if request.method == "POST":
        label = taxes.line_name(rate.name, rate.rate_bp)
        _audit_tax("tax.rate_deleted", rate)
        db.session.delete(rate)
        flash(f"Tax rate “{label}” was deleted. Orders already placed keep their taxes.")
        return redirect(url_for("backoffice.taxes_settings"))
    return render_template("backoffice/taxes_delete.html", rate=rate, **_helpers())
