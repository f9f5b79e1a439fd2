"""The platform's own site on the apex domain: landing, pricing and merchant signup."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, jsonify, redirect, render_template, request
from sqlalchemy import func, or_, select

from saas.cache import redis_client
from saas.db import db
from saas.models import FEATURE_LABELS, Tenant, TenantStatus
from saas.plans import offered_plans
from saas.platform.shop_signup import SignupFailed, SignupRequest, check_slug, sign_up, suggest_slug
from saas.ratelimit import limiter
from saas.tenancy.sites import SiteBlueprint, absolute_url, shop_host

SIGNUPS_PAUSED = "Many shops were just created from your network, so signing up is paused."

bp = SiteBlueprint(
    "platform", __name__, site="platform", static_folder="../static", static_url_path="/static"
)


LISTED_SHOPS = 20


def listed_shops() -> list[Tenant]:
    """Shops a visitor of the platform may be shown: open, launched, not closed by
    unpaid billing, and only those whose owner agreed (off by default)."""
    return list(
        db.session.scalars(
            select(Tenant)
            .where(
                Tenant.status == TenantStatus.ACTIVE,
                Tenant.launched_at.is_not(None),
                Tenant.listed_on_platform.is_(True),
                or_(Tenant.billing_closes_at.is_(None), Tenant.billing_closes_at > func.now()),
            )
            .order_by(Tenant.name, Tenant.id)
            .limit(LISTED_SHOPS)
        )
    )


@bp.get("/")
def landing() -> str:
    shops = listed_shops()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    links = [(s, absolute_url(app, shop_host(app, s.slug))) for s in shops]
    return render_template(
        "platform/landing.html", shops=links, plans=offered_plans(), feature_labels=FEATURE_LABELS
    )


@bp.get("/pricing")
def pricing() -> str:
    return render_template(
        "platform/pricing.html", plans=offered_plans(), feature_labels=FEATURE_LABELS
    )


def _signup_form(req: SignupRequest, errors: dict[str, str], status: int = 200) -> Any:
    plan = next((p for p in offered_plans() if p.is_default), None)
    return (
        render_template("platform/signup.html", form=req, errors=errors, plan=plan),
        status,
    )


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    if request.method == "GET":
        # A fresh key per form: a second submit of this same form cannot make a second shop.
        return _signup_form(SignupRequest(signup_key=uuid.uuid4().hex), {})
    req = SignupRequest.from_form(request.form.to_dict())
    if not req.signup_key:
        req.signup_key = uuid.uuid4().hex
    # Only shops created count: fixing typos in the form never locks anyone out.
    if locked := limiter().locked("signup"):
        return _signup_form(req, {"form": f"{SIGNUPS_PAUSED} {locked.wait}"}, 429)
    try:
        result = sign_up(req)
    except SignupFailed as e:
        req.password = ""  # never echoed back
        return _signup_form(req, e.errors, 400)
    if result.created:
        limiter().count("signup")
    return redirect(result.entry_url, code=303)


@bp.get("/signup/check")
def check_address() -> Any:
    """Live availability check for the signup form's shop address field."""
    slug = (request.args.get("slug") or "").strip().lower()[:80]
    name = (request.args.get("name") or "")[:200]
    if not slug and name:
        slug = suggest_slug(name)
    problem = check_slug(slug) if slug else "Choose an address for your shop."
    response = jsonify(slug=slug, available=problem is None, message=problem or "Available")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """For load balancers: the platform tables answer and Redis is reachable."""
    checks = {}
    try:
        # Its own connection: a failing database must not leave the request's session
        # in a failed transaction for the request's commit.
        with db.engine.connect() as conn:
            conn.execute(select(Tenant.id).limit(1))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "failing"
    try:
        redis_client().ping()
        checks["redis"] = "ok"
    except Exception:
        checks["redis"] = "failing"
    healthy = all(v == "ok" for v in checks.values())
    return {"status": "ok" if healthy else "failing", **checks}, 200 if healthy else 503
