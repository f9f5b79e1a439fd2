"""Staff accounts: the list, invitations, roles and per-area permissions."""

from __future__ import annotations

import functools
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, select

from saas.auth import start_session
from saas.db import atomic
from saas.paging import paginate
from saas.tenancy import current_tenant
from tenants.accounts.forms import new_password_form
from tenants.accounts.problems import LinkProblem
from tenants.backoffice import bp
from tenants.backoffice.access import public, staff_admin
from tenants.backoffice.helpers import get_or_404, link_problem
from tenants.staff import services as staff_service
from tenants.staff.models import AREA_LABELS, Area, Role, Staff, StaffStatus
from tenants.staff.services import StaffProblem

PER_PAGE = 50

ROLE_LABELS: dict[str, str] = {Role.OWNER: "Owner", Role.ADMIN: "Admin", Role.STAFF: "Staff"}
STATUS_LABELS: dict[str, str] = {
    StaffStatus.ACTIVE: "Active",
    StaffStatus.INVITED: "Invited",
    StaffStatus.DISABLED: "Removed",
}


def _actor() -> Any:
    return current_user._get_current_object()


def _managed(staff_id: int) -> tuple[Any, Staff, str | None]:
    """The actor, the member of staff they would manage, and why they may not (None if
    they may). A change they may not make is refused before the form is read."""
    actor = _actor()
    member = get_or_404(Staff, staff_id)
    blocked = staff_service.why_cannot_manage(actor, member)
    if blocked and request.method == "POST":
        abort(403, blocked)
    return actor, member, blocked


def _labels() -> dict[str, Any]:
    return {
        "area_labels": AREA_LABELS,
        "areas": list(Area),
        "role_labels": ROLE_LABELS,
        "status_labels": STATUS_LABELS,
    }


@bp.get("/staff")
@staff_admin
def staff() -> Any:
    order = (
        case((Staff.status == StaffStatus.DISABLED, 1), else_=0),
        case((Staff.role == Role.OWNER, 0), (Staff.role == Role.ADMIN, 1), else_=2),
        func.lower(Staff.name),
        Staff.email,
    )
    return render_template(
        "backoffice/staff.html",
        page=paginate(select(Staff).order_by(*order), PER_PAGE),
        seats=staff_service.seats(),
        me=_actor(),
        **_labels(),
    )


@bp.route("/staff/invite", methods=["GET", "POST"])
@staff_admin
def staff_invite() -> Any:
    actor = _actor()
    form: dict[str, Any] = {"email": "", "name": "", "role": Role.STAFF, "areas": []}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = {
            "email": request.form.get("email", "").strip(),
            "name": request.form.get("name", "").strip(),
            "role": request.form.get("role", ""),
            "areas": request.form.getlist("areas"),
        }
        try:
            with atomic():
                member = staff_service.invite(
                    actor, form["email"], form["name"], form["role"], form["areas"]
                )
        except StaffProblem as problem:
            errors, status = problem.errors, problem.status
        else:
            flash(f"Invitation sent to {member.email}.", "success")
            return redirect(url_for("backoffice.staff"))
    return render_template(
        "backoffice/staff_invite.html",
        form=form,
        errors=errors,
        can_invite_admin=staff_service.is_owner_like(actor),
        seats=staff_service.seats(),
        **_labels(),
    ), status


@bp.post("/staff/<int:staff_id>/resend")
@staff_admin
def staff_resend(staff_id: int) -> Any:
    actor = _actor()
    member = get_or_404(Staff, staff_id)
    try:
        staff_service.resend_invitation(actor, member)
    except StaffProblem as problem:
        flash(str(problem), "error")
        return redirect(url_for("backoffice.staff"))
    flash(f"A new invitation was sent to {member.email}.", "success")
    return redirect(url_for("backoffice.staff"))


@bp.route("/staff/<int:staff_id>", methods=["GET", "POST"])
@staff_admin
def staff_edit(staff_id: int) -> Any:
    actor, member, blocked = _managed(staff_id)
    form: dict[str, Any] = {"role": member.role, "areas": list(member.permissions or [])}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = {"role": request.form.get("role", ""), "areas": request.form.getlist("areas")}
        try:
            with atomic():
                changed = staff_service.update_role(actor, member, form["role"], form["areas"])
        except StaffProblem as problem:
            errors, status = problem.errors, 400
        else:
            name = member.name or member.email
            flash(f"Saved changes for {name}." if changed else "Nothing changed.", "success")
            return redirect(url_for("backoffice.staff"))
    return render_template(
        "backoffice/staff_edit.html",
        member=member,
        form=form,
        errors=errors,
        blocked=blocked,
        can_make_admin=staff_service.is_owner_like(actor),
        **_labels(),
    ), status


@bp.route("/staff/<int:staff_id>/remove", methods=["GET", "POST"])
@staff_admin
def staff_remove(staff_id: int) -> Any:
    actor, member, blocked = _managed(staff_id)
    if request.method == "POST":
        staff_service.remove(actor, member)
        flash(f"{member.name or member.email} was removed from the shop.", "success")
        return redirect(url_for("backoffice.staff"))
    return render_template(
        "backoffice/staff_remove.html", member=member, blocked=blocked, **_labels()
    ), (403 if blocked else 200)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invite(token: str) -> Any:
    try:
        row, member = staff_service.INVITE_LINKS.open(token)
        name = request.form.get("name", "").strip() if request.method == "POST" else member.name
        accept = functools.partial(staff_service.accept_invitation, row, name)
        accepted, errors = new_password_form(accept)
    except LinkProblem as problem:
        return _invitation_problem(problem)
    if accepted is not None:
        start_session(accepted)
        staff_service.record_login(accepted, via="invitation")
        flash(f"Welcome to {current_tenant.name}! Your account is ready.", "success")
        return redirect(url_for("backoffice.home"))
    return render_template(
        "backoffice/invite_accept.html",
        email=member.email,
        role=ROLE_LABELS.get(member.role, member.role),
        name=name,
        errors=errors,
    ), (400 if errors else 200)


def _invitation_problem(problem: LinkProblem) -> Any:
    return link_problem(
        problem.message,
        problem.status,
        action="Log in",
        action_url=url_for("backoffice.login"),
        hint="Ask the shop's owner or an admin to send you a new invitation.",
    )
