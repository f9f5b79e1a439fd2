"""The shop's customers in the back office."""

from __future__ import annotations

from flask import render_template

from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.models import Area


@bp.get("/customers")
@requires(Area.CUSTOMERS)
def customers() -> str:
    return render_template("backoffice/customers.html")
