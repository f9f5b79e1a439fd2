"""What the back office's views share: who is acting, loading one of the shop's rows (or
answering 404), a list's page, the page of a link that cannot be used, a destructive
action behind its confirmation page, and a page's form shown again with its mistakes.

Only the door's plumbing lives here; the rules stay in `tenants/<domain>/`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from flask import abort, flash, redirect, render_template, request
from flask_login import current_user
from sqlalchemy import Select

from saas.db import db
from saas.paging import Page, paginate

T = TypeVar("T")


def acting_staff_id() -> int | None:
    """The staff member recorded as having done something: none for an operator's
    impersonation, since an operator is not one of the shop's staff."""
    if getattr(current_user, "is_impersonation", False):
        return None
    return getattr(current_user, "id", None)


@overload
def get_or_404(model: type[T], ident: int) -> T: ...
@overload
def get_or_404(model: type[T], ident: int | None) -> T | None: ...
def get_or_404(model: type[T], ident: int | None) -> T | None:
    """The shop's row with that id, else a 404. The session sees only the current shop's
    schema, so another shop's id is simply absent. No id (the form of a row not made
    yet) gives None.

    Also what a view calls again after a refused savepoint: the rollback expired the
    row, and it may have been deleted meanwhile."""
    if ident is None:
        return None
    row = db.session.get(model, ident)
    if row is None:
        abort(404)
    return row


def page_or_404(page: Page) -> Page:
    """A list's page; one past the last is a 404 (an empty list still has page 1)."""
    if page.page > page.pages:
        abort(404)
    return page


def paginate_or_404(query: Select, per_page: int, *, scalars: bool = True) -> Page:
    """The page of `query` that `?page=` asks for (see `page_or_404`)."""
    return page_or_404(paginate(query, per_page, scalars=scalars))


def link_problem(
    message: str, status: int, *, action: str, action_url: str, hint: str | None = None
) -> tuple[str, int]:
    """The page for a reset, invitation or sign-in link that cannot be used."""
    return render_template(
        "backoffice/account_link_problem.html",
        message=message,
        hint=hint,
        action=action,
        action_url=action_url,
    ), status


def confirm_then(
    act: Callable[[], str], *, heading: str, message: str, button: str, back: str
) -> Any:
    """A destructive action behind a confirmation page: a GET shows `heading` and
    `message` with `button`; the POST does `act` (which returns what to flash) and goes
    `back`, where Cancel also leads when the page was not reached from the back office."""
    if request.method == "POST":
        flash(act())
        return redirect(back)
    return render_template(
        "backoffice/confirm.html",
        heading=heading,
        message=message,
        action=request.path,
        button=button,
        back=back,
    )


@dataclass(frozen=True)
class FormRetry:
    """One form of a page with several, shown again with what was typed into it and what
    is wrong (answered 400); the page's other forms show what is saved."""

    form: str
    values: dict[str, Any]
    errors: dict[str, str]

    def values_for(self, form: str, saved: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return self.values if form == self.form else saved()

    def errors_for(self, form: str) -> dict[str, str]:
        return self.errors if form == self.form else {}

    @property
    def status(self) -> int:
        return 400 if self.form else 200


NO_RETRY = FormRetry("", {}, {})  # the page as saved, no form shown again
