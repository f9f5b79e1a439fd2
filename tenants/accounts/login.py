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

    429 when the email (or this address) tried too often: no password is checked. 401
    for wrong credentials, with one message whatever was wrong. A success forgets the
    email's failed attempts. Called from a request (the limit counts by IP too).
    """
    email = normalise_email(email)
    if limited := limiter().hit(kind.login_limit, email):
        raise Refused(limited.message, 429)
    account = authenticate(email, password)
    if account is None:
        raise Refused(LOGIN_FAILED, 401)
    limiter().reset(kind.login_limit, email)
    return account
