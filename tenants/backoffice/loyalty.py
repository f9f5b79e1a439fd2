"""The points programme in the back office: its rules and what it owes (the liability),
and, on a customer's page, their points and the merchant's adjustments
(`tenants.loyalty`)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from saas import audit
from saas.db import atomic
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.loyalty import points, rules
from tenants.settings.services import get_settings
from tenants.staff.models import Area


@bp.route("/customers/points", methods=["GET", "POST"])
@requires(Area.CUSTOMERS)
def loyalty_programme() -> Any:
    program = points.program()
    values, errors = rules.form_values(program), {}
    if request.method == "POST":
        try:
            with atomic():
                changed = rules.save(program, request.form)
        except rules.RulesInvalid as invalid:
            values, errors = dict(request.form), invalid.errors
        else:
            if changed:
                audit.record("loyalty.rules_changed", enabled=program.enabled)
            flash(
                ("Points programme saved." if changed else "Nothing changed.")
                + ("" if program.enabled else " It is off: customers earn and see no points.")
            )
            return redirect(url_for("backoffice.loyalty_programme"))
        program = points.program()
    currency = get_settings().currency
    owed = points.liability()
    return render_template(
        "backoffice/loyalty.html",
        program=program,
        values=values,
        errors=errors,
        numbers=rules.NUMBERS,
        owed=owed,
        owed_cents=owed.cents(program, currency),
        currency=currency,
    ), 400 if errors else 200
