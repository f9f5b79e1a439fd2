"""The one email check (saas/email_address.py): email-validator's syntax, one stored
spelling that lookups share, and the DNS check only when EMAIL_CHECK_DELIVERABILITY."""

from __future__ import annotations

import dns.resolver
import email_validator
import pytest

from saas import email_address
from saas.config import from_env
from saas.email_address import InvalidEmail, normalise_email, validate_email_address
from tests.email_cases import BAD_EMAILS, BAD_IDS, GOOD_EMAILS


@pytest.mark.parametrize(("raw", "message"), BAD_EMAILS, ids=BAD_IDS)
def test_bad_addresses_are_refused_with_the_forms_message(app, raw, message):
    with app.app_context(), pytest.raises(InvalidEmail) as refused:
        validate_email_address(raw)
    assert refused.value.message == message
    assert email_address.email_problem(raw) == message


def test_an_empty_address_asks_for_one(app):
    with app.app_context():
        assert email_address.email_problem("  ") == "Enter an email address."
        assert email_address.email_problem(None) == "Enter an email address."


@pytest.mark.parametrize(("raw", "stored"), GOOD_EMAILS)
def test_good_addresses_are_stored_and_looked_up_in_one_spelling(app, raw, stored):
    with app.app_context():
        assert validate_email_address(raw) == stored
        assert normalise_email(raw) == stored
        assert normalise_email(stored) == stored


def test_test_domains_only_where_allowed(app, monkeypatch):
    with app.app_context():
        assert validate_email_address("Owner@Shop.test") == "owner@shop.test"
        monkeypatch.setitem(app.config, "EMAIL_ALLOW_TEST_DOMAINS", False)
        assert email_address.email_problem("owner@shop.test") == email_address.INVALID_EMAIL


def spy(monkeypatch, *, raises: Exception | None = None) -> list[dict]:
    """Record each call to email-validator; never ask DNS for real."""
    calls: list[dict] = []
    real = email_validator.validate_email

    def fake(email, **options):
        calls.append(options)
        if raises is not None and options["check_deliverability"]:
            raise raises
        return real(email, **{**options, "check_deliverability": False})

    monkeypatch.setattr(email_validator, "validate_email", fake)
    return calls


def test_the_dns_check_follows_the_setting(app, monkeypatch):
    calls = spy(monkeypatch)
    with app.app_context():
        assert app.config["EMAIL_CHECK_DELIVERABILITY"] is False  # off by default
        validate_email_address("sam@example.com")
        assert calls[-1]["check_deliverability"] is False
        monkeypatch.setitem(app.config, "EMAIL_CHECK_DELIVERABILITY", True)
        validate_email_address("sam@example.com")
        assert calls[-1]["check_deliverability"] is True
        assert calls[-1]["dns_resolver"] is not None
        # Lookups (login, reset) never wait on DNS.
        normalise_email("sam@example.com")
        assert calls[-1]["check_deliverability"] is False


def test_a_domain_without_mail_is_refused_but_a_failing_check_is_not(app, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_CHECK_DELIVERABILITY", True)
    nxdomain = email_validator.EmailUndeliverableError("The domain name does not exist.")
    nxdomain.__cause__ = dns.resolver.NXDOMAIN()
    spy(monkeypatch, raises=nxdomain)
    with app.app_context():
        with pytest.raises(InvalidEmail) as refused:
            validate_email_address("sam@gmial.com")
        assert (
            refused.value.message
            == "gmial.com does not accept email. Check the address for a typo."
        )

    broken = email_validator.EmailUndeliverableError("There was an error while checking")
    broken.__cause__ = OSError("no resolver")
    spy(monkeypatch, raises=broken)
    with app.app_context():
        assert validate_email_address("Sam@Gmail.com") == "sam@gmail.com"


def test_the_settings_come_from_the_environment(tmp_path):
    base = {
        "DATABASE_URL": "postgresql://u@db/x",
        "REDIS_URL": "redis://r/0",
        "INSTANCE_PATH": str(tmp_path),
    }
    assert from_env(base)["EMAIL_CHECK_DELIVERABILITY"] is False
    assert from_env({**base, "EMAIL_CHECK_DELIVERABILITY": "1"})["EMAIL_CHECK_DELIVERABILITY"]
    assert from_env(base)["EMAIL_ALLOW_TEST_DOMAINS"] is True
    production = {**base, "SAAS_ENV": "production", "SECRET_KEY": "k" * 40}
    assert from_env(production)["EMAIL_ALLOW_TEST_DOMAINS"] is False
