"""Back office → Settings → Payments: offline methods, connecting and disconnecting Stripe.

Connecting runs the whole OAuth round trip against the fake Stripe: the shop's "Connect
Stripe", Stripe's authorize page, the platform's return URL, then the shop's own.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from saas.db import db
from saas.handoff import issue
from saas.models import AuditEvent, HandoffPurpose, StripeAccount
from saas.tenancy import tenant_context
from tenants.settings.services import get_settings
from tenants.staff.models import Area
from tests.conftest import client_for, log_in_as
from tests.fakes.stripe_server import FakeStripe

PAGE = "/admin/settings/payments"
INSTRUCTIONS = "Pay to Acme Ltd\nIBAN GB29 NWBK 6016 1331 9268 19\nReference: your order number"


def settings_of(app: Any, tenant: Any) -> dict[str, Any]:
    with app.app_context(), tenant_context(tenant):
        s = get_settings()
        return {
            "cash_on_delivery": s.cash_on_delivery,
            "bank_transfer": s.bank_transfer,
            "bank_transfer_instructions": s.bank_transfer_instructions,
            "stripe_account_id": s.stripe_account_id,
            "payments_ready": s.payments_ready,
        }


def account_rows(app: Any, tenant: Any) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(StripeAccount.account_id).where(StripeAccount.tenant_id == tenant.id)
            )
        )


def audit_actions(app: Any, tenant: Any, prefix: str = "payments.") -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.tenant_id == tenant.id, AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def text_of(response: Any) -> str:
    """The page's text, tags stripped and whitespace squeezed, as a reader sees it."""
    tags_out = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(tags_out))


# --- offline methods --------------------------------------------------------------------


def test_without_stripe_keys_the_page_says_cards_are_not_configured(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, role="owner")
    page = client.get(PAGE)
    assert page.status_code == 200
    text = text_of(page)
    assert "Card payments through Stripe are not configured on this platform" in text
    assert "Connect Stripe" not in text
    assert "No payment method is enabled yet" in text

    refused = client.post(f"{PAGE}/stripe/connect", follow_redirects=True)
    assert "not configured on this platform" in text_of(refused)
    assert settings_of(app, tenant)["stripe_account_id"] is None


def test_bank_transfer_needs_instructions_and_nothing_is_saved_until_the_form_is_right(
    app, make_tenant, staff_client
):
    tenant = make_tenant()
    client = staff_client(tenant, role="staff", permissions=[Area.SETTINGS])

    missing = client.post(PAGE, data={"cash_on_delivery": "1", "bank_transfer": "1"})
    assert missing.status_code == 400
    text = text_of(missing)
    assert "Please correct the fields marked below. Nothing was saved." in text
    assert "Enter the instructions shoppers need to pay by bank transfer" in text
    markup = missing.get_data(as_text=True)
    # The form keeps what was ticked, and the error is tied to its field.
    assert re.search(r'id="cash_on_delivery"[^>]*checked', markup)
    assert re.search(r'id="bank_transfer"[^>]*checked', markup)
    assert re.search(r'<textarea id="bank_transfer_instructions"[^>]*aria-invalid="true"', markup)
    assert settings_of(app, tenant)["cash_on_delivery"] is False

    too_long = client.post(
        PAGE, data={"bank_transfer": "1", "bank_transfer_instructions": "x" * 2001}
    )
    assert too_long.status_code == 400
    assert "can have at most 2,000 characters (these have 2,001)" in text_of(too_long)
    assert "x" * 2001 in too_long.get_data(as_text=True)  # kept for fixing

    control = client.post(
        PAGE, data={"bank_transfer": "1", "bank_transfer_instructions": "IBAN\x07 123"}
    )
    assert control.status_code == 400 and "control characters" in text_of(control)
    assert settings_of(app, tenant)["payments_ready"] is False
    assert audit_actions(app, tenant) == []


def test_offline_methods_are_saved_audited_and_make_payments_ready(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, role="owner")
    saved = client.post(
        PAGE,
        data={
            "cash_on_delivery": "1",
            "bank_transfer": "1",
            "bank_transfer_instructions": INSTRUCTIONS.replace("\n", "\r\n") + "  ",
        },
    )
    assert saved.status_code == 303 and saved.headers["Location"] == PAGE
    assert settings_of(app, tenant) == {
        "cash_on_delivery": True,
        "bank_transfer": True,
        "bank_transfer_instructions": INSTRUCTIONS,
        "stripe_account_id": None,
        "payments_ready": True,
    }
    page = client.get(PAGE)
    text = text_of(page)
    assert "Payment settings saved." in text
    assert "shoppers can pay by cash on delivery, bank transfer" in text
    assert "IBAN GB29 NWBK 6016 1331 9268 19" in page.get_data(as_text=True)
    [event] = audit_actions(app, tenant)
    assert event.action == "payments.updated" and event.actor_type == "staff"
    assert set(event.detail["fields"]) == {
        "cash_on_delivery",
        "bank_transfer",
        "bank_transfer_instructions",
    }

    assert "Nothing to save" in text_of(
        client.post(
            PAGE,
            data={
                "cash_on_delivery": "1",
                "bank_transfer": "1",
                "bank_transfer_instructions": INSTRUCTIONS,
            },
            follow_redirects=True,
        )
    )

    # Turning everything off: the dashboard's checklist item is open again; the
    # instructions are kept for next time.
    client.post(PAGE, data={"bank_transfer_instructions": INSTRUCTIONS})
    after = settings_of(app, tenant)
    assert after["payments_ready"] is False and after["bank_transfer"] is False
    assert after["bank_transfer_instructions"] == INSTRUCTIONS
    assert "No payment method is enabled yet" in text_of(client.get(PAGE))


# --- access -----------------------------------------------------------------------------

ROUTES = [
    ("GET", PAGE),
    ("POST", PAGE),
    ("POST", f"{PAGE}/stripe/connect"),
    ("GET", f"{PAGE}/stripe/return?code=ac_1&state=x"),
    ("GET", f"{PAGE}/stripe/disconnect"),
    ("POST", f"{PAGE}/stripe/disconnect"),
]


def test_staff_without_the_settings_permission_are_refused(
    stripe_app, make_tenant, staff_client, connect_stripe
):
    tenant = make_tenant()
    account = connect_stripe(tenant)
    client = staff_client(tenant, role="staff", permissions=[Area.ORDERS, Area.PRODUCTS])
    for method, url in ROUTES:
        response = client.open(url, method=method, data={"cash_on_delivery": "1"})
        assert response.status_code == 403, (method, url)
    assert settings_of(stripe_app, tenant)["stripe_account_id"] == account
    assert settings_of(stripe_app, tenant)["cash_on_delivery"] is False

    anonymous = client_for(stripe_app, f"{tenant.slug}.localhost")
    for method, url in ROUTES:
        response = anonymous.open(url, method=method)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_a_read_only_operator_session_cannot_finish_a_connection(
    stripe_app, make_tenant, make_operator
):
    tenant = make_tenant()
    operator = make_operator()
    with stripe_app.app_context():
        raw, _ = issue(
            HandoffPurpose.IMPERSONATE,
            tenant.id,
            operator_id=operator.id,
            read_only=True,
            reason="Looking only",
            session_ttl=timedelta(minutes=10),
        )
        db.session.commit()
    client = client_for(stripe_app, f"{tenant.slug}.localhost")
    client.get(f"/admin/enter?token={raw}")
    assert client.get(PAGE).status_code == 200
    assert client.post(f"{PAGE}/stripe/connect").status_code == 403
    assert client.get(f"{PAGE}/stripe/return?code=ac_1&state=x").status_code == 403


# --- connecting Stripe ------------------------------------------------------------------


def start_connect(client: Any, fake: FakeStripe) -> dict[str, str]:
    """Press "Connect Stripe"; returns the authorize URL's query."""
    response = client.post(f"{PAGE}/stripe/connect")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(fake.url("/oauth/authorize?"))
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize_at_stripe(
    fake: FakeStripe, query: dict[str, str], decision: str = "allow", account: str = ""
) -> str:
    """The merchant's browser on Stripe's page: returns where Stripe redirects it."""
    page = requests.get(fake.url("/oauth/authorize?" + urlencode(query)), timeout=10)
    assert page.status_code == 200 and "Authorize" in page.text
    answer = requests.post(
        fake.url("/oauth/authorize"),
        data={**query, "decision": decision, "account": account},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    return answer.headers["Location"]


def through_platform(app: Any, stripe_location: str, tenant: Any) -> str:
    """Stripe's redirect lands on the platform, which passes it to the shop's back office."""
    parts = urlsplit(stripe_location)
    assert (parts.netloc, parts.path) == ("localhost", "/stripe/connect/return")
    bounced = client_for(app, "localhost").get(f"{parts.path}?{parts.query}")
    assert bounced.status_code == 303
    target = urlsplit(bounced.headers["Location"])
    assert target.netloc == f"{tenant.slug}.localhost"  # the shop named by the state
    assert target.path == f"{PAGE}/stripe/return"
    return f"{target.path}?{target.query}"


def test_connecting_stripe_end_to_end(
    stripe_app, fake_stripe: FakeStripe, make_tenant, staff_client
):
    tenant = make_tenant()
    client = staff_client(tenant, role="owner")
    assert "Connect Stripe" in text_of(client.get(PAGE))

    query = start_connect(client, fake_stripe)
    assert query["client_id"] == fake_stripe.client_id
    assert query["scope"] == "read_write" and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://localhost/stripe/connect/return"
    return_url = through_platform(stripe_app, authorize_at_stripe(fake_stripe, query), tenant)

    done = client.get(return_url)
    assert done.status_code == 303 and done.headers["Location"] == PAGE
    settings = settings_of(stripe_app, tenant)
    account = settings["stripe_account_id"]
    assert account and account.startswith("acct_") and fake_stripe.is_authorized(account)
    assert settings["payments_ready"] is True
    assert account_rows(stripe_app, tenant) == [account]
    [event] = audit_actions(stripe_app, tenant)
    assert event.action == "payments.stripe_connected" and event.detail["account_id"] == account

    page = text_of(client.get(PAGE))
    assert f"Your Stripe account {account} is connected" in page
    assert "shoppers can pay by card (Stripe)" in page
    assert "Disconnect Stripe" in page and "Connect Stripe" not in page

    # The return link is good once: the session's nonce went with it (and Stripe's code).
    replay = client.get(return_url)
    assert replay.status_code == 400
    assert "started in another session" in text_of(replay)
    assert len(audit_actions(stripe_app, tenant)) == 1


def test_a_tampered_or_foreign_state_is_refused_with_nothing_changed(
    stripe_app, fake_stripe: FakeStripe, make_tenant, staff_client
):
    tenant = make_tenant()
    client = staff_client(tenant, role="owner")
    query = start_connect(client, fake_stripe)
    location = authorize_at_stripe(fake_stripe, query)
    params = parse_qs(urlsplit(location).query)
    code, state = params["code"][0], params["state"][0]

    # A forged state is stopped on the platform already...
    forged_state = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
    platform = client_for(stripe_app, "localhost")
    forged = platform.get(f"/stripe/connect/return?code={code}&state={forged_state}")
    assert forged.status_code == 400 and "not valid" in text_of(forged)
    # ... and in the shop.
    tampered = client.get(f"{PAGE}/stripe/return?code={code}&state={forged_state}")
    assert tampered.status_code == 400
    text = text_of(tampered)
    assert "This Stripe connection request is not valid. Nothing was changed." in text
    assert "Connect Stripe" in text  # the way to start again is right there
    assert settings_of(stripe_app, tenant)["stripe_account_id"] is None
    assert account_rows(stripe_app, tenant) == [] and audit_actions(stripe_app, tenant) == []

    # Another staff member of the same shop cannot finish this owner's connection.
    colleague = staff_client(tenant, role="admin")
    with colleague.session_transaction() as session:
        session["stripe_connect_nonce"] = "guessed"
    other = colleague.get(f"{PAGE}/stripe/return?code={code}&state={state}")
    assert other.status_code == 400 and "started in another session" in text_of(other)
    assert settings_of(stripe_app, tenant)["stripe_account_id"] is None


def test_denying_at_stripe_changes_nothing(
    stripe_app, fake_stripe: FakeStripe, make_tenant, staff_client
):
    tenant = make_tenant()
    client = staff_client(tenant, role="owner")
    query = start_connect(client, fake_stripe)
    return_url = through_platform(
        stripe_app, authorize_at_stripe(fake_stripe, query, "deny"), tenant
    )
    assert "error=access_denied" in return_url
    page = client.get(return_url, follow_redirects=True)
    assert "the connection was cancelled on Stripe's page" in text_of(page)
    assert settings_of(stripe_app, tenant)["stripe_account_id"] is None


def test_shop_b_cannot_complete_shop_a_connection(
    stripe_app, fake_stripe: FakeStripe, make_tenant, staff_client
):
    shop_a, shop_b = make_tenant(), make_tenant()
    owner_a = staff_client(shop_a, role="owner")
    owner_b = staff_client(shop_b, role="owner")
    start_connect(owner_b, fake_stripe)  # B has a connection of its own in progress
    location = authorize_at_stripe(fake_stripe, start_connect(owner_a, fake_stripe))
    return_url = through_platform(stripe_app, location, shop_a)

    stolen = owner_b.get(return_url)  # A's state and code, at B's back office

    assert stolen.status_code == 400
    assert "This Stripe connection was started from another shop. Nothing was changed." in (
        text_of(stolen)
    )
    assert settings_of(stripe_app, shop_b)["stripe_account_id"] is None
    assert account_rows(stripe_app, shop_b) == []
    # A can still finish its own.
    assert owner_a.get(return_url).status_code == 303
    assert settings_of(stripe_app, shop_a)["stripe_account_id"] is not None


def test_an_account_serves_one_shop(
    stripe_app, fake_stripe: FakeStripe, make_tenant, staff_client, connect_stripe
):
    shop_a, shop_b = make_tenant(), make_tenant()
    account = connect_stripe(shop_a)
    owner_b = staff_client(shop_b, role="owner")
    location = authorize_at_stripe(
        fake_stripe, start_connect(owner_b, fake_stripe), account=account
    )
    refused = owner_b.get(through_platform(stripe_app, location, shop_b))
    assert refused.status_code == 400
    assert "already connected to another shop on this platform" in text_of(refused)
    assert settings_of(stripe_app, shop_b)["stripe_account_id"] is None
    assert account_rows(stripe_app, shop_a) == [account]


# --- disconnecting ----------------------------------------------------------------------


def test_disconnect_asks_first_then_revokes_access(
    stripe_app, fake_stripe: FakeStripe, make_tenant, staff_client, connect_stripe
):
    tenant = make_tenant()
    account = connect_stripe(tenant)
    client = staff_client(tenant, role="owner")

    confirm = client.get(f"{PAGE}/stripe/disconnect")
    assert confirm.status_code == 200
    text = text_of(confirm)
    assert "Disconnect Stripe?" in text and account in text
    assert "No other payment method is enabled" in text
    assert settings_of(stripe_app, tenant)["stripe_account_id"] == account  # GET changes nothing

    done = client.post(f"{PAGE}/stripe/disconnect")
    assert done.status_code == 303 and done.headers["Location"] == PAGE
    assert "Stripe is disconnected" in text_of(client.get(PAGE))
    settings = settings_of(stripe_app, tenant)
    assert settings["stripe_account_id"] is None and settings["payments_ready"] is False
    assert account_rows(stripe_app, tenant) == []
    assert not fake_stripe.is_authorized(account)
    assert [e.action for e in audit_actions(stripe_app, tenant)] == [
        "payments.stripe_connected",
        "payments.stripe_disconnected",
    ]

    # Stripe's own notice of the revocation finds nothing more to do.
    fake_stripe.wait_for_webhooks()
    notices = [d for d in fake_stripe.deliveries if d.type == "account.application.deauthorized"]
    assert notices[-1].status == 200
    assert len(audit_actions(stripe_app, tenant)) == 2

    again = client.get(f"{PAGE}/stripe/disconnect", follow_redirects=True)
    assert "No Stripe account is connected." in text_of(again)


def test_revoking_from_stripes_side_disconnects_the_shop(
    stripe_app, fake_stripe: FakeStripe, make_tenant, connect_stripe
):
    shop_a, shop_b = make_tenant(), make_tenant()
    account_a = connect_stripe(shop_a)
    account_b = connect_stripe(shop_b)
    delivery = fake_stripe.revoke_account(account_a)
    assert delivery is not None and delivery.json()["outcome"] == "processed"
    assert settings_of(stripe_app, shop_a)["stripe_account_id"] is None
    assert account_rows(stripe_app, shop_a) == []
    [event] = audit_actions(stripe_app, shop_a, "payments.stripe_disconnected")
    assert (event.actor_type, event.actor_email) == ("system", "stripe")
    assert settings_of(stripe_app, shop_b)["stripe_account_id"] == account_b  # B untouched
    assert account_rows(stripe_app, shop_b) == [account_b]


@pytest.mark.parametrize("state", ["", "nonsense"])
def test_the_platform_return_refuses_states_it_did_not_sign(stripe_app, state):
    response = client_for(stripe_app, "localhost").get(
        f"/stripe/connect/return?code=ac_1&state={state}"
    )
    assert response.status_code == 400
    assert "Start again from your shop's Settings → Payments." in text_of(response)


def test_a_merchant_on_a_custom_domain_comes_back_to_it(
    stripe_app, fake_stripe: FakeStripe, make_tenant, make_staff
):
    host = f"shop-{uuid.uuid4().hex[:6]}.example.com"
    tenant = make_tenant(domains=[host])
    client = client_for(stripe_app, host)  # the session cookie lives on this host only
    log_in_as(client, make_staff(tenant, role="owner").user_id)
    location = authorize_at_stripe(fake_stripe, start_connect(client, fake_stripe))
    bounced = client_for(stripe_app, "localhost").get(location.removeprefix("http://localhost"))
    target = urlsplit(bounced.headers["Location"])
    assert target.netloc == host
    assert client.get(f"{target.path}?{target.query}").status_code == 303
    assert settings_of(stripe_app, tenant)["stripe_account_id"] is not None
