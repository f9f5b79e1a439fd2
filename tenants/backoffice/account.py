"""Login, logout, password reset, the signed-in person's own account, hand-off entry."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from saas import audit
from saas.auth import ImpersonationUser, end_session, revoke_sessions, safe_next, start_session
from saas.db import db
from saas.handoff import redeem
from saas.models import HandoffPurpose, HandoffToken
from saas.tenancy import current_tenant
from tenants.accounts.forms import email_form, new_password_form, password_change_form
from tenants.accounts.problems import LinkProblem
from tenants.accounts.reset import RESET_DONE, RESET_SENT
from tenants.backoffice import bp
from tenants.backoffice.access import public, signed_in
from tenants.backoffice.helpers import link_problem
from tenants.staff import services as staff_service
from tenants.staff.models import Role, Staff, StaffStatus
from tenants.staff.services import StaffProblem


def home_url() -> str:
    return url_for("backoffice.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    raw_next = request.values.get("next")
    target = safe_next(raw_next, home_url())
    if current_user.is_authenticated:
        return redirect(target)
    # A refusal answers a page, so a wrong password's audit event commits with it.
    form = email_form(lambda email: staff_service.log_in(email, request.form.get("password", "")))
    if form.result is not None:
        start_session(form.result)
        staff_service.record_login(form.result)
        return redirect(target)
    return render_template(
        "backoffice/login.html",
        email=form.email,
        error=form.error,
        offer_reset=form.offer_reset,
        next=safe_next(raw_next, ""),
    ), form.status


@bp.post("/logout")
@signed_in
def logout() -> Any:
    user = current_user._get_current_object()
    if user.is_impersonation:
        # End the impersonation on the server too: its row is what lets the session in.
        row = db.session.get(HandoffToken, user.handoff_id)
        if row is not None and row.ended_at is None:
            row.ended_at = datetime.now(UTC)
        audit.record("operator.impersonation_ended", actor=user, handoff_id=user.handoff_id)
    else:
        revoke_sessions(user)
        audit.record("staff.logout", actor=user)
    end_session()
    flash("You are logged out.", "info")
    return redirect(url_for("backoffice.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot() -> Any:
    # The same work for every address: the job decides whether anyone gets mail.
    form = email_form(staff_service.ask_for_password_reset)
    return render_template(
        "backoffice/forgot.html",
        email=form.email,
        error=form.error,
        sent=form.done,
        sent_message=RESET_SENT,
    ), form.status


def _reset_link_problem(problem: LinkProblem) -> Any:
    return link_problem(
        problem.message,
        problem.status,
        action="Request a new reset link",
        action_url=url_for("backoffice.forgot"),
    )


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset(token: str) -> Any:
    try:
        row, owner = staff_service.RESET_LINKS.open(token)
        staff, errors = new_password_form(functools.partial(staff_service.reset_password, row))
    except LinkProblem as problem:
        return _reset_link_problem(problem)
    if staff is not None:
        start_session(staff)
        flash(RESET_DONE, "success")
        return redirect(home_url())
    page = render_template("backoffice/reset.html", email=owner.email, errors=errors)
    return page, (400 if errors else 200)


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account() -> Any:
    if current_user.is_impersonation:
        abort(403, "An operator session has no account of its own in this shop.")
    staff: Staff = current_user._get_current_object()
    name = staff.name
    profile_errors: dict[str, str] = {}
    password_errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        which = request.form.get("form")
        if which == "profile":
            name = request.form.get("name", "")
            try:
                staff_service.rename(staff, name)
            except StaffProblem as problem:
                profile_errors, status = problem.errors, 400
            else:
                flash("Your name was saved.", "success")
                return redirect(url_for("backoffice.account"))
        elif which == "password":
            refused = password_change_form(staff_service.change_password, staff, start_session)
            if refused is None:
                return redirect(url_for("backoffice.account"))
            password_errors, status = refused.errors, refused.status
        else:
            abort(400)
    return render_template(
        "backoffice/account.html",
        staff=staff,
        name=name,
        profile_errors=profile_errors,
        password_errors=password_errors,
    ), status


@bp.get("/enter")
@public
def enter() -> Any:
    """Spend a one-time hand-off token: signup's owner, or an operator's impersonation."""
    row = redeem(request.args.get("token", ""), current_tenant.id)
    if row is not None and row.purpose == HandoffPurpose.SIGNUP:
        staff = db.session.get(Staff, row.staff_id) if row.staff_id else None
        if staff is not None and staff.status == StaffStatus.ACTIVE and staff.role == Role.OWNER:
            start_session(staff)
            staff_service.record_login(staff, via="signup")
            return redirect(home_url())
    elif (
        row is not None
        and row.purpose == HandoffPurpose.IMPERSONATE
        and row.operator is not None
        and row.session_expires_at is not None
        and row.session_expires_at > datetime.now(UTC)
    ):
        user = ImpersonationUser(
            handoff_id=row.id,
            operator_id=row.operator.id,
            operator_email=row.operator.email,
            read_only=row.read_only,
            reason=row.reason or "",
            expires_at=row.session_expires_at,
        )
        start_session(user)
        audit.record(
            "operator.impersonation_entered",
            actor=user,
            reason=row.reason,
            handoff_id=row.id,
            read_only=row.read_only,
            until=row.session_expires_at.isoformat(),
        )
        return redirect(home_url())
    return link_problem(  # the 400 page commits too: a token that was spent stays spent
        "This sign-in link has expired or was already used.",
        400,
        action="Log in",
        action_url=url_for("backoffice.login"),
    )
