"""Staff invitations take only addresses that can receive the invitation; the invited
person is found again by the same spelling."""

from __future__ import annotations

from tests.email_cases import BAD_EMAILS, GOOD_EMAILS
from tests.staff.test_staff import invite, member, staff_count


def test_invitations_refuse_bad_addresses_by_the_field(app, make_tenant, staff_client):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    before = staff_count(app, tenant)
    for raw, message in BAD_EMAILS:
        page = invite(owner, raw)
        assert page.status_code == 400, raw
        assert message in page.text and 'id="email-error"' in page.text, raw
    assert staff_count(app, tenant) == before
    for raw, stored in GOOD_EMAILS:
        assert invite(owner, raw).status_code == 302, raw
        assert member(app, tenant, email=stored) is not None, raw
        # Typed again in another spelling, it is the same person.
        assert "already been invited" in invite(owner, stored.upper()).text
