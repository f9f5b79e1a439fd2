"""Shop settings: name, contact, currency, timezone, address, logo, storefront password, launch."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from saas.auth import safe_next
from saas.db import db
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.models import Area
from tenants.services import shop_settings as service


def _page(values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    settings = service.get_settings()
    return render_template(
        "backoffice/settings.html",
        values=values,
        errors=errors,
        settings=settings,
        has_password=settings.storefront_password_hash is not None,
        currencies=[(code, f"{code} — {label}") for code, label in service.CURRENCIES],
        countries=service.COUNTRIES,
        timezones=[(zone, zone.replace("_", " ")) for zone in service.timezones()],
    ), status


@bp.route("/settings", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def settings() -> Any:
    if request.method == "GET":
        return _page(service.form_values(service.shop_row(), service.get_settings()), {})
    upload: FileStorage | None = request.files.get("logo")
    if upload is not None and not upload.filename:  # the file field left empty
        upload = None
    try:
        update = service.update_settings(
            request.form,
            logo=upload.stream if upload is not None else None,
            remove_logo=request.form.get("remove_logo") == "1",
            storefront_password=request.form.get("storefront_password", ""),
            clear_storefront_password=request.form.get("clear_storefront_password") == "1",
        )
    except service.SettingsInvalid as invalid:
        db.session.rollback()
        values = {f: request.form.get(f, "") for f in service.FIELDS}
        return _page(values, invalid.errors, 400)
    try:
        db.session.commit()
    except Exception:
        update.discard()
        raise
    update.after_commit()
    flash("Settings saved." if update.changed else "Nothing to save: no setting changed.")
    return redirect(url_for("backoffice.settings"))


@bp.post("/launch")
@requires(Area.SETTINGS)
def launch() -> Any:
    if service.launch_shop():
        db.session.commit()
        flash("Your shop is live: everyone can now visit your storefront.")
    else:
        flash("Your shop was already live.")
    return redirect(safe_next(request.form.get("next"), url_for("backoffice.home")))
