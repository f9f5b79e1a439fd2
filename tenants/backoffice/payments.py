"""Payment settings: offline methods and the merchant's own Stripe account.

Connecting Stripe is an OAuth round trip: "Connect Stripe" (a POST, so no other site
can start it) sends the merchant to Stripe with a signed state; Stripe returns them to
the platform's host (`saas.payments.webhooks.connect_return`), which passes them on to
`stripe_return` here, where the state is checked against this shop and this staff
session before the code is exchanged for the account id.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from saas.db import atomic
from saas.payments import stripe_api
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.payments import services as service
from tenants.settings.services import get_settings
from tenants.staff.models import Area

# The staff session's key holding the nonce of a Connect round trip in progress.
CONNECT_NONCE = "stripe_connect_nonce"


def _page(
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    *,
    connect_error: str | None = None,
    status: int = 200,
) -> Any:
    settings = get_settings()
    return render_template(
        "backoffice/payments.html",
        settings=settings,
        values=values if values is not None else service.form_values(settings),
        errors=errors or {},
        connect_error=connect_error,
        stripe_available=service.stripe_available(),
        connected_since=service.connected_since(settings.stripe_account_id),
        methods=service.offered_methods(settings),
    ), status


@bp.route("/settings/payments", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def payments_settings() -> Any:
    if request.method == "GET":
        return _page()
    try:
        with atomic():
            changed = service.update_offline_methods(request.form)
    except service.PaymentSettingsInvalid as invalid:
        return _page(service.submitted_values(request.form), invalid.errors, status=400)
    flash("Payment settings saved." if changed else "Nothing to save: no setting changed.")
    return redirect(url_for("backoffice.payments_settings"), code=303)


@bp.post("/settings/payments/stripe/connect")
@requires(Area.SETTINGS)
def stripe_connect() -> Any:
    if not service.stripe_available():
        flash("Card payments through Stripe are not configured on this platform.")
        return redirect(url_for("backoffice.payments_settings"), code=303)
    if get_settings().stripe_account_id:
        flash("A Stripe account is already connected. Disconnect it first to use another.")
        return redirect(url_for("backoffice.payments_settings"), code=303)
    start = service.begin_connect(
        principal=current_user.get_id(),
        redirect_uri=url_for("stripe.connect_return", _external=True),
        return_host=request.host,
    )
    session[CONNECT_NONCE] = start.nonce
    return redirect(start.url, code=303)


@bp.get("/settings/payments/stripe/return")
@requires(Area.SETTINGS)
def stripe_return() -> Any:
    # One use: a replayed return URL finds no nonce.
    nonce = session.pop(CONNECT_NONCE, None)
    if current_user.read_only:  # a GET, so the guard's read-only rule does not cover it
        abort(403, "This is a read-only session: nothing can be changed.")
    if request.args.get("error"):
        flash("Stripe was not connected: the connection was cancelled on Stripe's page.")
        return redirect(url_for("backoffice.payments_settings"), code=303)
    try:
        with atomic():
            account_id = service.finish_connect(
                code=request.args.get("code", ""),
                state=request.args.get("state", ""),
                principal=current_user.get_id(),
                nonce=nonce,
            )
    except stripe_api.ConnectStateInvalid as invalid:
        message = (
            f"{invalid} Nothing was changed. To connect Stripe, choose “Connect Stripe” again."
        )
        return _page(connect_error=message, status=400)
    except service.StripeConnectFailed as failed:
        return _page(connect_error=f"{failed} Nothing was changed.", status=400)
    flash(f"Your Stripe account {account_id} is connected: shoppers can now pay by card.")
    return redirect(url_for("backoffice.payments_settings"), code=303)


@bp.route("/settings/payments/stripe/disconnect", methods=["GET", "POST"])
@requires(Area.SETTINGS)
def stripe_disconnect() -> Any:
    settings = get_settings()
    if not settings.stripe_account_id:
        flash("No Stripe account is connected.")
        return redirect(url_for("backoffice.payments_settings"), code=303)
    if request.method == "GET":
        return render_template(
            "backoffice/payments_disconnect.html",
            account_id=settings.stripe_account_id,
            other_methods=[m for m in service.offered_methods(settings) if m != "stripe"],
        )
    problem = service.disconnect_stripe()
    if problem:
        flash(
            "Stripe is disconnected from your shop, but Stripe could not be told "
            f"({problem}). To be sure, remove Storefront from your Stripe dashboard's "
            "connected applications."
        )
    else:
        flash("Stripe is disconnected: shoppers can no longer pay by card.")
    return redirect(url_for("backoffice.payments_settings"), code=303)
