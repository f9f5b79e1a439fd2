"""The platform's own site on the apex domain: landing page (signup comes next)."""

from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import select

from saas.cache import redis_client
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
    """For load balancers: the platform tables answer and Redis is reachable."""
    checks = {}
    try:
        db.session.execute(select(Tenant.id).limit(1))
        checks["database"] = "ok"
    except Exception:
        db.session.rollback()
        checks["database"] = "failing"
    try:
        redis_client().ping()
        checks["redis"] = "ok"
    except Exception:
        checks["redis"] = "failing"
    healthy = all(v == "ok" for v in checks.values())
    return {"status": "ok" if healthy else "failing", **checks}, 200 if healthy else 503
