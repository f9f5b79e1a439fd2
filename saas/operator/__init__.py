"""The operator console on the reserved operator host."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from saas import login_manager
from saas.db import db
from saas.models import Operator, Tenant
from saas.passwords import verify_password
from saas.sites import SiteBlueprint

bp = SiteBlueprint(
    "console", __name__, site="console", static_folder="../static", static_url_path="/static"
)

PER_PAGE = 25


@login_manager.user_loader
def load_operator(user_id: str) -> Operator | None:
    from flask import g

    site = getattr(g, "site", None)
    if site is None or site.kind != "console" or not user_id.isdigit():
        return None
    return db.session.get(Operator, int(user_id))


login_manager.login_view = "console.login"
login_manager.login_message = "Please sign in to open the console."
login_manager.login_message_category = "info"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        operator = db.session.scalar(select(Operator).where(func.lower(Operator.email) == email))
        if (
            verify_password(
                operator.password_hash if operator else None, request.form.get("password", "")
            )
            and operator
        ):
            login_user(operator)
            return redirect(url_for("console.tenants"))
        error = "Email or password is incorrect."
    return render_template("console/login.html", error=error, email=email), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout() -> Any:
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("console.login"))


@bp.get("/")
@login_required
def tenants() -> str:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    q = request.args.get("q", "").strip()
    query = select(Tenant)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(func.lower(Tenant.slug).like(like) | func.lower(Tenant.name).like(like))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Tenant.created_at.desc(), Tenant.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    pages = max(1, -(-total // PER_PAGE))
    return render_template(
        "console/tenants.html",
        tenants=rows,
        total=total,
        page=page,
        pages=pages,
        q=q,
        user=current_user,
    )
