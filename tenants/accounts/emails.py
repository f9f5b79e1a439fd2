"""Email addresses as accounts use them: the core's one check and one spelling
(`saas.email_address`), under the names the accounts' modules import."""

from __future__ import annotations

from saas.email_address import MAX_EMAIL, email_problem, normalise_email

__all__ = ["MAX_EMAIL", "email_problem", "normalise_email"]
