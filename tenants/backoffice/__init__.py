"""The merchant's back office under `/admin` on the shop's own host.

Staff accounts and login arrive with the back-office issue; until then only the
development outbox is served here, and only when `SHOW_OUTBOX` is on.
"""

from __future__ import annotations

from flask import abort, current_app, render_template
from sqlalchemy import select

from saas.db import db
from saas.sites import SiteBlueprint
from saas.tenancy import current_tenant
from tenants.models import OutboxMessage

bp = SiteBlueprint(
    "backoffice",
    __name__,
    site="shop",
    url_prefix="/admin",
    static_folder="../../saas/static",
    static_url_path="/static",
)


@bp.get("/outbox")
def outbox() -> str:
    if not current_app.config["SHOW_OUTBOX"]:
        abort(404)
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(50)
    ).all()
    return render_template("backoffice/outbox.html", messages=messages, shop=current_tenant)
