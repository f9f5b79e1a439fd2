"""Shops in the console: the list, one shop's page, and what the operator can do to it.

Views only read forms and render; the actions themselves are `saas.console.actions`.
Every action takes a reason, is audited with the operator and IP, and commits once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response

from saas.console import actions as tenant_admin
from saas.console import bp
from saas.console.actions import REASON_MAX, ActionRefused
from saas.db import atomic, db
from saas.handoff import entry_url
from saas.models import AuditEvent, Plan, Subscription, Tenant, TenantStatus
from saas.money import format_money
from saas.paging import paginate
from saas.plans import offered_plans, usage
from saas.tenancy import tenant_context
from tenants.staff.models import Staff

log = logging.getLogger(__name__)

PER_PAGE = 25
RECENT_EVENTS = 20
SORTS = {
    "created": "Newest first",
    "created_asc": "Oldest first",
    "activity": "Most recently active",
}
STATUSES = [s.value for s in TenantStatus]

T = TypeVar("T")


def _operator() -> Any:
    return current_user._get_current_object()


def parse_date(value: str | None) -> date | None:
    """A YYYY-MM-DD date, or None when blank; ValueError when it is not a date."""
    value = (value or "").strip()
    return date.fromisoformat(value) if value else None


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# --- the list -------------------------------------------------------------------------


@bp.get("/")
@login_required
def tenants() -> Any:
    args = request.args
    q = args.get("q", "").strip()[:200]
    status = args.get("status", "")
    plan_code = args.get("plan", "")
    sort = args.get("sort", "created")
    errors: dict[str, str] = {}
    if status and status not in STATUSES:
        errors["status"] = "Choose a status from the list."
        status = ""
    if sort not in SORTS:
        sort = "created"
    dates: dict[str, date | None] = {}
    for key, label in (("created_from", "From"), ("created_to", "To")):
        try:
            dates[key] = parse_date(args.get(key))
        except ValueError:
            dates[key] = None
            errors[key] = f"“{label}” must be a date like 2025-01-31."

    query = (
        select(Tenant, Plan)
        .outerjoin(Subscription, Subscription.tenant_id == Tenant.id)
        .outerjoin(Plan, Plan.id == Subscription.plan_id)
    )
    if q:
        like = "%" + q.lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(
            or_(
                func.lower(Tenant.name).like(like),
                func.lower(Tenant.slug).like(like),
                func.lower(Tenant.owner_email).like(like),
            )
        )
    if status:
        query = query.where(Tenant.status == status)
    else:  # a deleted shop is listed only when asked for
        query = query.where(Tenant.status != TenantStatus.DELETED)
    if plan_code:
        query = query.where(Plan.code == plan_code)
    if dates["created_from"]:
        query = query.where(Tenant.created_at >= day_start(dates["created_from"]))
    if dates["created_to"]:
        query = query.where(Tenant.created_at < day_start(dates["created_to"]) + timedelta(days=1))
    if sort == "activity":
        query = query.order_by(Tenant.last_active_at.desc().nulls_last(), Tenant.id.desc())
    elif sort == "created_asc":
        query = query.order_by(Tenant.created_at.asc(), Tenant.id.asc())
    else:
        query = query.order_by(Tenant.created_at.desc(), Tenant.id.desc())
    page = paginate(query, PER_PAGE, scalars=False)
    filtered = bool(q or status or plan_code or dates["created_from"] or dates["created_to"])
    all_plans = db.session.scalars(select(Plan).order_by(Plan.sort_order, Plan.id)).all()
    return render_template(
        "console/tenants.html",
        page=page,
        q=q,
        status=status,
        plan_code=plan_code,
        sort=sort,
        created_from=args.get("created_from", ""),
        created_to=args.get("created_to", ""),
        errors=errors,
        filtered=filtered,
        status_options=[(s, s.capitalize()) for s in STATUSES],
        plan_options=[(p.code, p.name + (" (retired)" if p.retired else "")) for p in all_plans],
        sort_options=list(SORTS.items()),
    ), (400 if errors else 200)


# --- one shop -------------------------------------------------------------------------


def _tenant_or_404(tenant_id: int, *, lock: bool = False) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id, with_for_update=lock or None)
    if tenant is None:
        abort(404)
    return tenant


def _shop_facts(tenant: Tenant) -> dict[str, Any]:
    """What is read from the shop's own schema: usage and staff. A shop whose schema
    is missing (a half-failed purge) still gets its page."""
    subscription = tenant.subscription
    facts: dict[str, Any] = {"usage": [], "staff": {}, "schema_ok": True}
    try:
        if subscription is not None:
            facts["usage"] = usage(tenant.id, subscription.plan)
        with tenant_context(tenant):
            rows = db.session.execute(
                select(Staff.status, func.count(Staff.id)).group_by(Staff.status)
            ).all()
            facts["staff"] = {status: count for status, count in rows}
    except DBAPIError:
        log.exception("could not read the schema of shop %s", tenant.slug)
        facts["schema_ok"] = False
    return facts


def render_tenant(
    tenant: Tenant,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    # Here, not at the top: saas.console.billing imports render_tenant and the form
    # helpers (_action, _whole_number, _done, _operator, _refused) from this module at its
    # top, so a top-level import either way finds the other module half made (ImportError).
    from saas.console.billing import tenant_billing

    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.tenant_id == tenant.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(RECENT_EVENTS)
    ).all()
    return render_template(
        "console/tenant.html",
        tenant=tenant,
        subscription=tenant.subscription,
        facts=_shop_facts(tenant),
        billing=tenant_billing(tenant),
        events=events,
        plan_options=[
            (p.id, f"{p.name} — {format_money(p.price_cents, p.currency.upper())}/month")
            for p in offered_plans()
        ],
        errors=errors or {},
        form=form or {},
        reason_max=REASON_MAX,
        max_days=tenant_admin.MAX_TRIAL_EXTENSION_DAYS,
        minute_options=[(n, f"{n} minutes") for n in tenant_admin.IMPERSONATION_MINUTES],
        retention_days=current_app.config["DELETED_RETENTION_DAYS"],
        now=datetime.now(UTC),
    ), status


@bp.get("/tenants/<int:tenant_id>")
@login_required
def tenant(tenant_id: int) -> Any:
    return render_tenant(_tenant_or_404(tenant_id))


def _reason_problem(reason: str) -> str | None:
    if not reason:
        return "Give a reason: it goes into the audit log."
    if len(reason) > REASON_MAX:
        return f"Keep the reason under {REASON_MAX} characters (it has {len(reason)})."
    return None


def _done(tenant: Tenant, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("console.tenant", tenant_id=tenant.id))


def _refused(tenant: Tenant, form_name: str, exc: ActionRefused, form: dict[str, str]) -> Any:
    # The action ran in `atomic()`: what it wrote before refusing is undone already.
    return render_tenant(
        _tenant_or_404(tenant.id), errors={f"{form_name}": str(exc)}, form=form, status=409
    )


def _carry_out(
    tenant: Tenant,
    form_name: str,
    form: dict[str, str],
    errors: dict[str, str],
    act: Callable[[], T],
    done: Callable[[T], str],
) -> Any:
    """How every action form ends: its mistakes (400), why the action was refused, with
    what it wrote undone by its savepoint (409), or the shop's page saying what was done."""
    if errors:
        return render_tenant(tenant, errors=errors, form=form, status=400)
    try:
        with atomic():
            result = act()
    except ActionRefused as exc:
        return _refused(tenant, form_name, exc, form)
    return _done(tenant, done(result))


def _action(
    form_name: str, tenant_id: int, fields: tuple[str, ...] = ()
) -> tuple[Tenant, dict[str, str], dict[str, str]]:
    """Lock the shop, read `reason` and `fields` from the form, check the reason."""
    tenant = _tenant_or_404(tenant_id, lock=True)
    form = {
        f"{form_name}.{name}": request.form.get(name, "").strip() for name in ("reason", *fields)
    }
    errors: dict[str, str] = {}
    problem = _reason_problem(form[f"{form_name}.reason"])
    if problem:
        errors[f"{form_name}.reason"] = problem
    return tenant, form, errors


def _whole_number(
    form: dict[str, str], errors: dict[str, str], key: str, most: int, noun: str
) -> int:
    """The form's `key` read as a whole number (0 when it is not one), its mistake in
    `errors` unless it is from 1 to `most`."""
    raw = form[key]
    number = int(raw) if raw.isdigit() else 0
    if not 1 <= number <= most:
        errors[key] = f"Enter a whole number of {noun} from 1 to {most}."
    return number


def _reasoned(
    form_name: str,
    tenant_id: int,
    act: Callable[..., None],
    done: Callable[[Tenant], str],
) -> Any:
    """An action that takes only a reason: `act(tenant, reason, actor=...)`."""
    tenant, form, errors = _action(form_name, tenant_id)
    return _carry_out(
        tenant,
        form_name,
        form,
        errors,
        lambda: act(tenant, form[f"{form_name}.reason"], actor=_operator()),
        lambda _: done(tenant),
    )


@bp.post("/tenants/<int:tenant_id>/suspend")
@login_required
def suspend_tenant(tenant_id: int) -> Any:
    return _reasoned(
        "suspend",
        tenant_id,
        tenant_admin.suspend,
        lambda tenant: f"{tenant.name} is suspended: shoppers see “temporarily unavailable”.",
    )


@bp.post("/tenants/<int:tenant_id>/resume")
@login_required
def resume_tenant(tenant_id: int) -> Any:
    return _reasoned(
        "resume", tenant_id, tenant_admin.resume, lambda tenant: f"{tenant.name} is open again."
    )


@bp.post("/tenants/<int:tenant_id>/plan")
@login_required
def change_plan(tenant_id: int) -> Any:
    tenant, form, errors = _action("plan", tenant_id, ("plan_id",))
    raw_plan = form["plan.plan_id"]
    plan = db.session.get(Plan, int(raw_plan)) if raw_plan.isdigit() else None
    if plan is None or plan.retired:
        errors["plan.plan_id"] = "Choose a plan from the list."
    if plan is None:  # said in `errors`
        return render_tenant(tenant, errors=errors, form=form, status=400)
    chosen = plan
    return _carry_out(
        tenant,
        "plan",
        form,
        errors,
        lambda: tenant_admin.change_plan(tenant, chosen, form["plan.reason"], actor=_operator()),
        lambda _: f"{tenant.name} is now on the {chosen.name} plan.",
    )


@bp.post("/tenants/<int:tenant_id>/trial")
@login_required
def extend_trial(tenant_id: int) -> Any:
    tenant, form, errors = _action("trial", tenant_id, ("days",))
    days = _whole_number(form, errors, "trial.days", tenant_admin.MAX_TRIAL_EXTENSION_DAYS, "days")
    return _carry_out(
        tenant,
        "trial",
        form,
        errors,
        lambda: tenant_admin.extend_trial(tenant, days, form["trial.reason"], actor=_operator()),
        lambda ends: f"Trial extended by {days} days, to {ends:%Y-%m-%d %H:%M} UTC.",
    )


@bp.post("/tenants/<int:tenant_id>/restore")
@login_required
def restore_tenant(tenant_id: int) -> Any:
    return _reasoned(
        "restore",
        tenant_id,
        tenant_admin.restore,
        lambda tenant: f"{tenant.name} is restored, suspended: resume it to reopen the shop.",
    )


def _typed_address_matches(tenant: Tenant, typed: str) -> bool:
    typed = typed.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    host = f"{tenant.slug}.{current_app.config['SAAS_DOMAIN']}"
    return typed in {tenant.slug, host} or typed.split(":", 1)[0] == host


@bp.route("/tenants/<int:tenant_id>/delete", methods=["GET", "POST"])
@login_required
def delete_tenant(tenant_id: int) -> Any:
    tenant = _tenant_or_404(tenant_id, lock=request.method == "POST")
    if tenant.status == TenantStatus.DELETED:
        flash("This shop is already deleted.", "info")
        return redirect(url_for("console.tenant", tenant_id=tenant.id))
    errors: dict[str, str] = {}
    form = {"confirm": "", "reason": ""}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in form}
        if not _typed_address_matches(tenant, form["confirm"]):
            errors["confirm"] = f"Type the shop address, {tenant.slug}, exactly to confirm."
        problem = _reason_problem(form["reason"])
        if problem:
            errors["reason"] = problem
        if not errors:
            try:
                with atomic():
                    tenant_admin.soft_delete(tenant, form["reason"], actor=_operator())
            except ActionRefused as exc:
                errors["form"] = str(exc)
            else:
                tenant_admin.schedule_after_delete(tenant.id)
                flash(
                    f"{tenant.name} is deleted: its shop is gone from the web. An export of its "
                    f"data is being made; the data is purged after "
                    f"{tenant.purge_after:%Y-%m-%d} unless you restore it.",
                    "success",
                )
                return redirect(url_for("console.tenant", tenant_id=tenant.id))
    return render_template(
        "console/delete.html",
        tenant=tenant,
        errors=errors,
        form=form,
        retention_days=current_app.config["DELETED_RETENTION_DAYS"],
        reason_max=REASON_MAX,
    ), (400 if errors else 200)


@bp.post("/tenants/<int:tenant_id>/impersonate")
@login_required
def impersonate(tenant_id: int) -> Any:
    tenant, form, errors = _action("impersonate", tenant_id, ("mode", "minutes"))
    mode = form["impersonate.mode"]
    if mode not in ("read-only", "full"):
        errors["impersonate.mode"] = "Choose read-only or full access."
    raw_minutes = form["impersonate.minutes"]
    minutes = int(raw_minutes) if raw_minutes.isdigit() else 0
    if minutes not in tenant_admin.IMPERSONATION_MINUTES:
        errors["impersonate.minutes"] = "Choose 15, 30 or 60 minutes."
    if errors:
        return render_tenant(tenant, errors=errors, form=form, status=400)
    try:
        with atomic():
            raw = tenant_admin.start_impersonation(
                tenant,
                _operator(),
                read_only=mode == "read-only",
                reason=form["impersonate.reason"],
                minutes=minutes,
            )
    except ActionRefused as exc:
        return _refused(tenant, "impersonate", exc, form)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return redirect(entry_url(app, tenant.slug, raw))
