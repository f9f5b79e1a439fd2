"""Shop settings: name, contact, currency, timezone, address, logo, storefront password,
launch; whether the plan sends abandoned-checkout emails."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from saas import uploads
from saas.auth import safe_next
from saas.billing import limits
from saas.billing.limits import Limit, LimitProblem
from saas.db import atomic
from saas.models import Feature
from saas.tenancy import current_tenant
from tenants import media
from tenants.analytics import sales_rollup, visits
from tenants.backoffice import bp, outbox_linked
from tenants.backoffice.access import requires
from tenants.backoffice.home import home_page
from tenants.checkout import recovery
from tenants.settings import services as service
from tenants.settings.launch import LaunchBlocked, launch_shop
from tenants.staff.models import Area


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
        recovery_problem=limits.feature_problem(
            current_tenant.id, Feature.ABANDONED_CHECKOUT_EMAILS
        ),
        recovery_delay=int(recovery.ABANDONED_AFTER.total_seconds() // 3600),
        outbox_linked=outbox_linked(),
    ), status


def _submitted() -> dict[str, str]:
    fields = (*service.FIELDS, "listed_on_platform", "respect_privacy_signals")
    return {f: request.form.get(f, "") for f in fields}


def _logo_storage_problem(upload: FileStorage) -> LimitProblem | None:
    """Whether the plan's storage has room for this logo (it replaces the current one).

    Locks the shop's subscription row until the transaction ends (see saas.billing.limits).
    """
    size = limits.upload_size(upload.stream)
    if not 0 < size <= uploads.upload_limit():  # (empty or too large: refused for that)
        return None
    current = service.get_settings().logo_file
    replaced = 0
    if current:
        try:
            replaced = (media.media_dir() / current).stat().st_size
        except OSError:
            replaced = 0
    return limits.limit_problem(current_tenant.id, Limit.STORAGE, size - replaced, lock=True)


@bp.route("/settings", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def settings() -> Any:
    if request.method == "GET":
        return _page(service.form_values(service.shop_row(), service.get_settings()), {})
    upload: FileStorage | None = request.files.get("logo")
    if upload is not None and not upload.filename:  # the file field left empty
        upload = None
    remove_logo = request.form.get("remove_logo") == "1"
    if upload is not None and not remove_logo and (problem := _logo_storage_problem(upload)):
        return _page(_submitted(), {"logo": problem.html()}, 400)
    try:
        with atomic():
            update = service.update_settings(
                request.form,
                logo=upload.stream if upload is not None else None,
                remove_logo=remove_logo,
                storefront_password=request.form.get("storefront_password", ""),
                clear_storefront_password=request.form.get("clear_storefront_password") == "1",
            )
            if "timezone" in update.changed:  # each sale may fall on another local day now
                sales_rollup.mark_all_dirty()
            # A checkbox: off unless ticked.
            privacy = visits.set_respect_privacy_signals(
                request.form.get("respect_privacy_signals") == "1"
            )
    except service.SettingsInvalid as invalid:
        return _page(_submitted(), invalid.errors, 400)
    changed = update.changed or privacy
    flash("Settings saved." if changed else "Nothing to save: no setting changed.")
    return redirect(url_for("backoffice.settings"))


@bp.post("/launch")
@requires(Area.SETTINGS)
def launch() -> Any:
    try:
        launched = launch_shop()
    except LaunchBlocked as blocked:
        # The checklist again, headed by what stops a shopper from buying.
        return home_page(blocked.missing, 400)
    if launched:
        flash("Your shop is live: everyone can now visit your storefront.")
    else:
        flash("Your shop was already live.")
    return redirect(safe_next(request.form.get("next"), url_for("backoffice.home")))
