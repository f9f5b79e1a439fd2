"""Email addresses as people type them: one check and one spelling, everywhere.

Every form where an address is entered (checkout, customer accounts, staff invitations,
platform signup, newsletter, shop settings, operator accounts) validates it here, and
every lookup by email (login, password reset, order lookup) spells it the same way as
what was stored. The syntax check is `email-validator`'s; its DNS check (does the
domain take mail?) runs only with `EMAIL_CHECK_DELIVERABILITY` on.
"""

from __future__ import annotations

import logging
from typing import Any

import email_validator
from flask import current_app, has_app_context

log = logging.getLogger(__name__)

MAX_EMAIL = 320  # the columns' length; the validator allows 254 (RFC 5321's path limit)
DNS_TIMEOUT_SECONDS = 5

ENTER_EMAIL = "Enter an email address."
INVALID_EMAIL = "Enter an email address like name@example.com."
TOO_LONG = "This email address is too long."

_resolver: Any = None


class InvalidEmail(ValueError):
    """An address that cannot be used; `message` is what the form shows by the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _setting(name: str) -> bool:
    return bool(has_app_context() and current_app.config.get(name))


def _test_domain(raw: str) -> bool:
    # RFC 6761's `.test` names: the development and test shops' addresses. The validator
    # refuses them unless told, and told it also skips DNS, so only for these.
    domain = raw.rpartition("@")[2].rstrip(".").lower()
    return (domain == "test" or domain.endswith(".test")) and _setting("EMAIL_ALLOW_TEST_DOMAINS")


def _dns_resolver() -> Any:
    global _resolver
    if _resolver is None:
        _resolver = email_validator.caching_resolver(timeout=DNS_TIMEOUT_SECONDS)
    return _resolver


def _validated(raw: str, check_deliverability: bool) -> email_validator.ValidatedEmail:
    options: dict[str, Any] = {
        "strict": True,  # also RFC 5321's 64 characters before the @, which servers enforce
        "check_deliverability": check_deliverability,
        "test_environment": _test_domain(raw),
    }
    if check_deliverability:
        options["dns_resolver"] = _dns_resolver()
    return email_validator.validate_email(raw, **options)


def validate_email_address(raw: str | None, *, check_deliverability: bool | None = None) -> str:
    """The address as stored: trimmed, Unicode-normalised and lowercased. Raises InvalidEmail.

    Addresses are unique per shop in that spelling, so the whole address is lowercased
    (the validator itself keeps the part before the @ as typed). `check_deliverability`
    defaults to the `EMAIL_CHECK_DELIVERABILITY` setting.
    """
    email = (raw or "").strip()
    if not email:
        raise InvalidEmail(ENTER_EMAIL)
    if len(email) > MAX_EMAIL:
        raise InvalidEmail(TOO_LONG)
    if check_deliverability is None:
        check_deliverability = _setting("EMAIL_CHECK_DELIVERABILITY")
    try:
        valid = _validated(email, check_deliverability)
    except email_validator.EmailUndeliverableError as error:
        if not _domain_refused(error):
            # The check itself failed (no resolver, a DNS error): never turn someone away
            # for that; the syntax was good.
            log.warning("email deliverability unknown for %r: %s", email, error)
            return _plain(email)
        domain = email.rpartition("@")[2]
        raise InvalidEmail(
            f"{domain} does not accept email. Check the address for a typo."
        ) from error
    except email_validator.EmailSyntaxError as error:
        raise InvalidEmail(TOO_LONG if "too long" in str(error) else INVALID_EMAIL) from error
    return valid.normalized.lower()


def _domain_refused(error: Exception) -> bool:
    """Whether DNS said no (no such domain, no mail server, a null MX), rather than the
    check failing to run."""
    # Imported only when a check ran and failed: dnspython's resolver is needed just to
    # tell its exceptions apart, and most processes never check a domain.
    import dns.resolver

    cause = error.__cause__
    return cause is None or isinstance(cause, dns.resolver.NXDOMAIN | dns.resolver.NoAnswer)


def _plain(email: str) -> str:
    try:
        return _validated(email, check_deliverability=False).normalized.lower()
    except email_validator.EmailNotValidError:
        return email.lower()


def normalise_email(raw: str | None) -> str:
    """The stored spelling of `raw`, for lookups (login, reset, order lookup): what
    `validate_email_address` returns for a good address, and the trimmed, lowercased
    text for anything else (which then matches nothing). Never checks DNS."""
    email = (raw or "").strip()
    if not email or len(email) > MAX_EMAIL:
        return email.lower()
    return _plain(email)


def email_problem(raw: str | None) -> str | None:
    """Why `raw` cannot be used as an address (the form's message), or None."""
    try:
        validate_email_address(raw)
    except InvalidEmail as invalid:
        return invalid.message
    return None
