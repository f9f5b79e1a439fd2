"""What the back office's views share: who is acting, loading one of the shop's rows (or
answering 404), a list's page, the page of a link that cannot be used, a destructive
action behind its confirmation page, a page's form shown again with its mistakes, and
the plumbing of runs made by a job (imports, exports): an upload checked as a dry run,
the job queued after commit, its progress.

Only the door's plumbing lives here; the rules stay in `tenants/<domain>/`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import IO, Any, TypeVar, overload

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select

from saas.db import after_commit, db
from saas.jobs import enqueue
from saas.paging import Page, paginate
from saas.tenancy import get_current_tenant, tenant_context

T = TypeVar("T")
log = logging.getLogger(__name__)


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


# --- runs made by a job: imports and exports ------------------------------------------


def upload_dry_run(
    read_upload: Callable[[IO[bytes] | None], str],
    preview: Callable[[str, str], Any],
    refused: type[Exception],
    run_endpoint: str,
) -> tuple[Any, str | None]:
    """An import's upload form posted: the file read (`read_upload`, which raises
    `refused` with a message for the field) and its dry run kept (`preview(text,
    filename)`, a new run). (The redirect to the run's page, None) or (None, the error)."""
    upload = request.files.get("file")
    try:
        text = read_upload(upload.stream if upload and upload.filename else None)
    except refused as problem:
        return None, str(problem)
    run = preview(text, (upload.filename or "") if upload else "")
    return redirect(url_for(run_endpoint, run_id=run.id)), None


def queue_run(
    job: Callable[[int], Any], run_id: int, *, timeout: int, fail_to_start: Callable[[int], None]
) -> None:
    """Hand a run to the workers once the request has committed it as queued."""
    after_commit(partial(_queue_now, job, run_id, timeout, fail_to_start))


def _queue_now(
    job: Callable[[int], Any], run_id: int, timeout: int, fail_to_start: Callable[[int], None]
) -> None:
    """After commit, `enqueue` queues at once, so a failure to queue is seen and told
    instead of waited for. The request's unit of work has ended: marking the run failed
    is a unit of its own."""
    try:
        enqueue(job, run_id, retries=0, timeout=timeout)
    except Exception:  # Redis unreachable
        log.exception("could not queue %s for run %s", job.__qualname__, run_id)
        with tenant_context(get_current_tenant()):
            fail_to_start(run_id)


def run_status(run: Any, in_progress: Collection[str]) -> Response:
    """A run's progress for its page's script (`backoffice/_progress.html`)."""
    return jsonify(
        status=run.status,
        processed=run.processed,
        total=run.total,
        done=run.status not in in_progress,
    )
