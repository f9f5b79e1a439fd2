"""Email addresses as accounts use them: one spelling per address, and a plausibility check."""

from __future__ import annotations

MAX_EMAIL = 320  # the columns' length, and the longest address RFC 5321 allows


def normalise_email(email: str | None) -> str:
    """The stored spelling: trimmed and lowercased (emails are unique per shop that way)."""
    return (email or "").strip().lower()


def email_problem(email: str) -> str | None:
    """Why a normalised `email` cannot be an account's address, or None."""
    if not email:
        return "Enter an email address."
    if len(email) > MAX_EMAIL:
        return "This email address is too long."
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email):
        return "Enter an email address like name@example.com."
    return None
