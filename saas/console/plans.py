"""Plans in the console: the list (retired ones too), the form, retire and unretire."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas.console import bp
from saas.console.plan_admin import (
    FEATURES_SHOWN,
    LIMIT_FIELDS,
    PlanForm,
    PlanRefused,
    read_form,
    save_plan,
    set_retired,
    subscriber_counts,
)
from saas.db import atomic, db
from saas.models import FEATURE_LABELS, Feature, Plan


def _plan_or_404(plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        abort(404)
    return plan


@bp.get("/plans")
@login_required
def plans() -> str:
    rows = db.session.scalars(
        select(Plan).order_by(Plan.retired_at.is_not(None), Plan.sort_order, Plan.id)
    ).all()
    return render_template(
        "console/plans.html",
        plans=rows,
        subscribers=subscriber_counts(),
        features=list(Feature),
        feature_labels=FEATURE_LABELS,
    )


def _form_page(form: PlanForm, plan: Plan | None, status: int = 200) -> Any:
    return render_template(
        "console/plan_form.html",
        form=form,
        plan=plan,
        limit_fields=LIMIT_FIELDS,
        features=[(f.value, FEATURE_LABELS[f]) for f in Feature],
        features_shown=FEATURES_SHOWN,
    ), status


def _submit(plan: Plan | None) -> Any:
    form = read_form(request.form, plan)
    if form.errors:
        return _form_page(form, plan, 400)
    actor = current_user._get_current_object()
    try:
        with atomic():  # flushed inside, so a clash is caught here, not at the commit
            saved = save_plan(form, plan, actor=actor)
    except IntegrityError:
        # Another operator saved a clashing code or default at the same moment.
        form.errors["form"] = "Another change got in first. Check the plans and try again."
        return _form_page(form, plan and db.session.get(Plan, plan.id), 409)
    flash(f"Plan “{saved.name}” {'created' if plan is None else 'saved'}.", "success")
    return redirect(url_for("console.plans"))


@bp.route("/plans/new", methods=["GET", "POST"])
@login_required
def new_plan() -> Any:
    if request.method == "POST":
        return _submit(None)
    return _form_page(PlanForm.from_plan(None), None)


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@login_required
def edit_plan(plan_id: int) -> Any:
    plan = _plan_or_404(plan_id)
    if request.method == "POST":
        return _submit(plan)
    return _form_page(PlanForm.from_plan(plan), plan)


def _retire(plan_id: int, retired: bool) -> Any:
    plan = db.session.get(Plan, plan_id, with_for_update=True)
    if plan is None:
        abort(404)
    actor = current_user._get_current_object()
    try:
        with atomic():
            set_retired(plan, retired, actor=actor)
    except PlanRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.plans"))
    if retired:
        flash(
            f"“{plan.name}” is retired: new shops cannot choose it; shops on it keep it.", "success"
        )
    else:
        flash(f"“{plan.name}” is on offer again.", "success")
    return redirect(url_for("console.plans"))


@bp.post("/plans/<int:plan_id>/retire")
@login_required
def retire_plan(plan_id: int) -> Any:
    return _retire(plan_id, True)


@bp.post("/plans/<int:plan_id>/unretire")
@login_required
def unretire_plan(plan_id: int) -> Any:
    return _retire(plan_id, False)
