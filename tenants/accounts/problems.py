"""Refusals the account flows (and other forms' services) hand back to the view, which
turns them into a page."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FormProblem(Exception):
    """Input the person must correct: messages by form field ("" for the whole form).

    `status` is the HTTP status to answer with: 400, or 429 for too many attempts.
    """

    errors: dict[str, str] = field(default_factory=dict)
    status: int = 400

    def __str__(self) -> str:
        return "; ".join(self.errors.values())


class FormInvalid(ValueError):
    """A form has mistakes; `errors` maps field names to messages for people."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class Refused(Exception):
    """A request turned down with one message (no form field); `status` is the HTTP status.

    `offer_reset`: the page offers the password reset link with the message (a login
    locked after failed tries: the reset is the way in before the lock ends).
    """

    def __init__(self, message: str, status: int, *, offer_reset: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.offer_reset = offer_reset


class LinkProblem(Refused):
    """A mailed link (password reset, invitation) that cannot be used."""
