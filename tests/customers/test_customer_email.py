"""Customer accounts take only addresses that can receive mail, store one spelling, and
log in and reset with the address however it is typed."""

from __future__ import annotations

from tests.customers.test_customers import (
    customers_with,
    is_login_redirect,
    log_in,
    register,
    shop,
)
from tests.email_cases import BAD_EMAILS, GOOD_EMAILS


def test_register_refuses_bad_addresses_by_the_field(app, make_tenant):
    tenant = make_tenant()
    client = shop(app, tenant)
    for raw, message in BAD_EMAILS:
        page = register(client, raw)
        assert page.status_code == 400, raw
        assert message in page.text and 'id="email-error"' in page.text, raw
        assert is_login_redirect(client.get("/account"))


def test_a_registered_address_logs_in_however_it_is_typed(app, make_tenant):
    tenant = make_tenant()
    for raw, stored in GOOD_EMAILS:
        client = shop(app, tenant)
        assert register(client, raw).status_code in (302, 303), raw
        assert len(customers_with(app, tenant, stored)) == 1, raw
        again = shop(app, tenant)
        assert log_in(again, f"  {stored.upper()} ").status_code in (302, 303), raw
        assert again.get("/account").status_code == 200
