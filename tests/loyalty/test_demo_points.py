"""The demo shops run a points programme, so a shopper who signs up sees points."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db
from saas.models import Tenant
from saas.tenancy import tenant_context
from tenants.loyalty import points
from tests.core.test_cli import run


def test_demo_shops_run_the_points_programme(app):
    assert run(app, "demo").exit_code == 0
    second = run(app, "demo")
    assert second.exit_code == 0 and "points programme turned on" not in second.output
    with app.app_context():
        acme = db.session.scalar(select(Tenant).where(Tenant.slug == "acme"))
        with tenant_context(acme):
            program = points.active_program()
            assert program is not None and program.signup_points == 100
