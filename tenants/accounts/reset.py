"""A forgotten password: asking for a mailed link, and choosing a new password with it.

Asking answers the same for every address, known or not, and does the same work: a job
decides whether anyone gets mail, so neither the page nor its timing says who has an
account. The job runs after the request commits and keys its email by the request, so a
retried job mails once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from saas.ratelimit import limiter
from tenants.accounts.emails import email_problem, normalise_email
from tenants.accounts.kinds import A, AccountKind, TokenRow
from tenants.accounts.passwords import new_password_errors, set_password
from tenants.accounts.problems import Refused
from tenants.accounts.tokens import queue_mail

RESET_TTL = timedelta(hours=1)
RESET_SENT = (
    "If an account exists for that email, we've sent a link to reset its password. "
    "It works for one hour."
)
RESET_DONE = "Your password was changed, and you are logged in."


def ask_for_reset(kind: AccountKind[Any], email: str, job: Callable[[str, str], None]) -> None:
    """Queue `job` to mail a reset link to `email`, whoever has it. Raises Refused.

    429 when the email (or this address) asked too often, 400 for what is not an email.
    Called from a request (the limit counts by IP too).
    """
    email = normalise_email(email)
    if limited := limiter().hit(kind.reset_limit, email):
        raise Refused(limited.message, 429)
    if problem := email_problem(email):
        raise Refused(problem, 400)
    queue_mail(job, email)


def reset_password(kind: AccountKind[A], token: TokenRow, password: str, confirm: str) -> A:
    """Set a new password through a reset link. Raises `kind.problem` or LinkProblem.

    The link is spent, every session of the account ends, and its failed logins are
    forgotten (the caller logs the person in).
    """
    account = kind.reset_links.owner(token)
    errors = new_password_errors(account.email, account.name, password, confirm)
    if errors:
        raise kind.problem(errors)
    kind.reset_links.spend(token)
    set_password(kind, account, password)
    limiter().reset(kind.login_limit, account.email)
    return account
