"""Setting and changing an account's password."""

from __future__ import annotations

from saas.auth import revoke_sessions
from saas.passwords import check_new_password, hash_password, verify_password
from saas.ratelimit import limiter
from saas.tenancy import current_tenant
from tenants.accounts.kinds import A, AccountKind


def related_words(email: str, name: str = "") -> list[str]:
    """Words a person's password must not lean on: who they are, and the shop."""
    return [w for w in (email, name, current_tenant.name, current_tenant.slug) if w]


def new_password_errors(
    email: str, name: str, password: str, confirm: str, field_name: str = "password"
) -> dict[str, str]:
    """Form errors for the new password of the person with this email and name."""
    return check_new_password(password, confirm, related_words(email, name), field_name)


def set_password(kind: AccountKind[A], account: A, password: str) -> None:
    """Store a new password, end every session issued before now, spoil reset links."""
    account.password_hash = hash_password(password)
    revoke_sessions(account)
    kind.reset_links.expire(account.id)


def change_password(kind: AccountKind[A], account: A, current: str, new: str, confirm: str) -> None:
    """The logged-in person changes their own password. Raises `kind.problem`.

    A wrong current password counts against the login limit (it is a password guess
    just the same); while that is locked, the problem has status 429 and nothing is
    checked. Every session of theirs ends, this one too: the caller starts a fresh one
    for this browser.
    """
    if locked := limiter().locked(kind.login_limit, account.email):
        raise kind.problem({"": locked.refusal}, 429)
    errors: dict[str, str] = {}  # keyed by form field, messages are not passwords
    if not verify_password(account.password_hash, current):
        count = limiter().count(kind.login_limit, account.email)
        errors["current_password"] = count.after("Your current password is not correct.")
    errors.update(new_password_errors(account.email, account.name, new, confirm, "new_password"))
    if not errors and verify_password(account.password_hash, new):
        errors["new_password"] = "Choose a password different from your current one."  # noqa: S105
    if errors:
        raise kind.problem(errors)
    set_password(kind, account, new)
