"""Logging in with an email and a password, behind a rate limit."""

from __future__ import annotations

from collections.abc import Callable

from saas.ratelimit import limiter
from tenants.accounts.emails import normalise_email
from tenants.accounts.kinds import A, AccountKind
from tenants.accounts.problems import Refused

LOGIN_FAILED = "Email or password is incorrect."


def check_login(
    kind: AccountKind[A],
    email: str,
    password: str,
    authenticate: Callable[[str, str], A | None],
) -> A:
    """The account `authenticate` finds for these credentials. Raises Refused.

    429 while the email (or this address) is locked after failed tries: no password is
    checked. 401 for wrong credentials, with one message whatever was wrong (an unknown
    email counts and locks just the same), saying how many tries are left once few are.
    Both offer the reset link once locked. A success forgets the email's failed tries,
    not the address's: one account of one's own must not reset the count for guessing
    others'. Called from a request (the limit counts by IP too).
    """
    email = normalise_email(email)
    if locked := limiter().locked(kind.login_limit, email):
        raise Refused(locked.refusal, 429, offer_reset=True)
    account = authenticate(email, password)
    if account is None:
        count = limiter().count(kind.login_limit, email)
        raise Refused(count.after(LOGIN_FAILED), 401, offer_reset=count.locked is not None)
    limiter().reset(kind.login_limit, email)
    return account
