"""The account forms both doors show, as a view reads them: logging in, asking for a
reset link, choosing a password through a mailed link, and changing it while logged in.

Each function reads the request's form with the same field names on both doors, calls
the kind's service and turns its refusal into what the page shows again. The doors keep
their own templates, URLs, and what follows a success (the session, the flash, where to
go next). Like the rest of this package, nothing here imports a door.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import flash, request

from saas.db import atomic
from tenants.accounts.emails import normalise_email
from tenants.accounts.kinds import A
from tenants.accounts.problems import FormProblem, Refused

R = TypeVar("R")

PASSWORD_CHANGED = "Your password was changed. Any other sessions were logged out."  # noqa: S105


@dataclass
class EmailForm(Generic[R]):
    """A form that starts from an email address (the login, the reset request), as the
    page shows it: the normalised address, the refusal's message and status (and
    whether it offers the reset link), and, once the service took it, `done` and what
    the service returned."""

    email: str = ""
    error: str | None = None
    status: int = 200
    offer_reset: bool = False
    done: bool = False
    result: R | None = None


def email_form(action: Callable[[str], R]) -> EmailForm[R]:
    """On a POST, `action(email)` with the form's normalised email; Refused becomes the
    form's error. A GET gives the empty form."""
    form: EmailForm[R] = EmailForm()
    if request.method == "POST":
        form.email = normalise_email(request.form.get("email"))
        try:
            form.result = action(form.email)
        except Refused as refused:
            form.error, form.status = refused.message, refused.status
            form.offer_reset = refused.offer_reset
        else:
            form.done = True
    return form


def new_password_form(choose: Callable[[str, str], A]) -> tuple[A | None, dict[str, str]]:
    """On a POST, `choose(password, confirm)` (a reset link's, an invitation's) in a
    savepoint: (the account, {}) once it is done, else (None, the form's errors; none for
    a GET). A LinkProblem goes on to the caller, which answers the link's page."""
    if request.method != "POST":
        return None, {}
    try:
        with atomic():
            return choose(request.form.get("password", ""), request.form.get("confirm", "")), {}
    except FormProblem as problem:
        return None, problem.errors


def password_change_form(
    change: Callable[[A, str, str, str], None], account: A, renew: Callable[[A], None]
) -> FormProblem | None:
    """`change(account, current, new, confirm)` from the account page's password form, in
    a savepoint. None once the password changed: the new session version ended every
    session, so `renew(account)` gives this browser a fresh one and it stays in, and the
    page to come says so. Else the refusal, whose errors and status the page shows."""
    try:
        with atomic():
            change(
                account,
                request.form.get("current_password", ""),
                request.form.get("new_password", ""),
                request.form.get("confirm", ""),
            )
    except FormProblem as problem:
        return problem
    renew(account)
    flash(PASSWORD_CHANGED, "success")
    return None
