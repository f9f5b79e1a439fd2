"""Password hashing (argon2id) and the rules a new password must meet.

The rules follow NIST SP 800-63B: a minimum length, no composition rules, and a check
against passwords known from breaches (zxcvbn's list of the 30,000 most common leaked
passwords) plus its guessability estimate, which also catches the shop's own name or
the person's email.
"""

from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 10
MAX_LENGTH = 128  # hashing cost grows with length; nobody types more

_hasher = PasswordHasher()
# Verified against when the account does not exist, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
_LEAKED = frozenset(FREQUENCY_LISTS["passwords"])


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, *, related: Iterable[str] = ()) -> str | None:
    """Why `password` cannot be used, in words for people; None if it is fine.

    `related` are words the person's password must not lean on (their email, name,
    the shop's name).
    """
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in _LEAKED:
        return "This password appears in lists of leaked passwords. Please choose another."
    inputs = [w for value in related for w in _words(value)]
    if zxcvbn(password, user_inputs=inputs)["score"] < 3:
        return (
            "This password is too easy to guess. Try a few unrelated words, or add more characters."
        )
    return None


def _words(value: str) -> list[str]:
    value = value.lower()
    words = value.replace("@", " ").replace(".", " ").replace("-", " ").split()
    parts = [value, "".join(words), *words]
    return [p for p in parts if len(p) >= 3]


def check_new_password(
    password: str, confirm: str, related: Iterable[str], field_name: str = "password"
) -> dict[str, str]:
    """Form errors for a new password and its confirmation (empty: fine), by field."""
    errors: dict[str, str] = {}
    problem = password_problem(password, related=related) if password else "Enter a password."
    if problem:
        errors[field_name] = problem
    elif password != confirm:
        errors["confirm"] = "The two passwords do not match."
    return errors
