"""Operator sign-in in two steps: password, then a TOTP code.

After the password step the session holds only the pending operator's id and the time
(it is not a login: no console page opens with it). The code step must follow within
five minutes; then `start_session` rotates the session and logs the operator in.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from saas import audit
from saas.auth import end_session, revoke_sessions, safe_next, start_session
from saas.console import bp
from saas.console.totp import claim_step, matching_step
from saas.db import db
from saas.email_address import normalise_email
from saas.models import Operator
from saas.passwords import verify_password
from saas.ratelimit import limiter

PENDING_KEY = "console_pending"
PENDING_TTL = 5 * 60  # seconds between the password step and the code step
WRONG_LOGIN = "Email or password is incorrect."
EMAIL_MAX = 320


def _pending_operator() -> Operator | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    started = pending.get("at")
    if not isinstance(started, int | float) or time.time() - started > PENDING_TTL:
        session.pop(PENDING_KEY, None)
        return None
    operator = db.session.get(Operator, pending.get("id"))
    if operator is None or operator.session_version != pending.get("v"):
        session.pop(PENDING_KEY, None)
        return None
    return operator


def _default_home() -> str:
    return url_for("console.tenants")


# Operators reset on the servers, never by email (see `flask operator set-password`).
FORGOTTEN = (
    "Forgot your password? Whoever runs the servers can set a new one with "
    "`flask operator set-password`."
)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(_default_home())
    next_url = safe_next(request.values.get("next"), "")
    error = None
    email = ""
    status = 200
    if request.method == "POST":
        email = normalise_email(request.form.get("email"))[:EMAIL_MAX]
        password = request.form.get("password", "")
        # Only failed tries count; the email's are forgotten once the code is right too
        # (a right password alone is not a login). Operators have no reset by email.
        if locked := limiter().locked("login", email):
            error, status = f"{locked.refusal} {FORGOTTEN}", 429
        else:
            operator = (
                db.session.scalar(select(Operator).where(func.lower(Operator.email) == email))
                if email
                else None
            )
            # Verified either way: unknown emails cost the same argon2 work as known ones.
            ok = verify_password(operator.password_hash if operator else None, password)
            if ok and operator is not None:
                session.clear()
                session[PENDING_KEY] = {
                    "id": operator.id,
                    "v": operator.session_version,
                    "at": int(time.time()),
                    "next": next_url,
                }
                return redirect(url_for("console.verify"))
            audit.record(
                "operator.login_failed",
                tenant_id=None,
                actor=("visitor", None, email or None),
                step="password",
            )
            tried = limiter().count("login", email)
            error = tried.after(WRONG_LOGIN) + (
                f" {FORGOTTEN}" if tried.warn or tried.locked else ""
            )
            status = 401
    return render_template(
        "console/login.html", error=error, email=email, next_url=next_url
    ), status


@bp.route("/login/verify", methods=["GET", "POST"])
def verify() -> Any:
    if current_user.is_authenticated:
        return redirect(_default_home())
    operator = _pending_operator()
    if operator is None:
        flash("Your sign-in has expired or was not started. Please sign in again.", "info")
        return redirect(url_for("console.login"))
    if not operator.totp_secret:
        # The password was right, so saying this leaks nothing an attacker could use.
        session.pop(PENDING_KEY, None)
        return render_template("console/no_totp.html"), 403
    error = None
    status = 200
    if request.method == "POST":
        if locked := limiter().locked("totp", str(operator.id)):
            error, status = locked.refusal, 429
        else:
            step = matching_step(operator.totp_secret, request.form.get("code", ""))
            if step is not None and claim_step(operator.id, step):
                next_url = session.get(PENDING_KEY, {}).get("next") or ""
                start_session(operator)  # clears the pending step with the old session
                operator.last_login_at = datetime.now(UTC)
                audit.record("operator.login", tenant_id=None, actor=operator)
                limiter().reset("login", operator.email)
                limiter().reset("totp", str(operator.id))
                return redirect(safe_next(next_url, _default_home()))
            if step is None:
                error = "That code is not right. Enter the 6-digit code your app shows now."
            else:
                error = "That code has already been used. Wait for the next one and enter it."
            audit.record(
                "operator.login_failed",
                tenant_id=None,
                actor=operator,
                step="totp",
                replay=step is not None,
            )
            error = limiter().count("totp", str(operator.id)).after(error)
            status = 401
    return render_template("console/verify.html", error=error), status


@bp.post("/logout")
@login_required
def logout() -> Any:
    operator = current_user._get_current_object()
    audit.record("operator.logout", tenant_id=None, actor=operator)
    revoke_sessions(operator)
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("console.login"))
