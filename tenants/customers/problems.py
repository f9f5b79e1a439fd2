"""The refusal every customer service raises for input the person must correct."""

from __future__ import annotations

from tenants.accounts.problems import FormProblem


class CustomerProblem(FormProblem):
    """Input the person must correct: messages by form field ("" for the whole form)."""
