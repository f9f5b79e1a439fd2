"""The platform's own site on the apex domain: landing page (signup comes next)."""

from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import select

from saas.db import db
from saas.models import Tenant, TenantStatus
from saas.sites import SiteBlueprint, absolute_url, shop_host

bp = SiteBlueprint(
    "platform", __name__, site="platform", static_folder="../static", static_url_path="/static"
)


@bp.get("/")
def landing() -> str:
    shops: list[Tenant] = []
    if current_app.config["SAAS_ENV"] != "production":
        # Development only: list the demo shops so they are one click away.
        shops = list(
            db.session.scalars(
                select(Tenant)
                .where(Tenant.status == TenantStatus.ACTIVE)
                .order_by(Tenant.name)
                .limit(20)
            )
        )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    links = [(s, absolute_url(app, shop_host(app, s.slug))) for s in shops]
    return render_template("platform/landing.html", shops=links)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    db.session.execute(select(1))
    return {"status": "ok"}, 200
