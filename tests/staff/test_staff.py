"""Staff management in the back office: invitations by email, roles and areas, removal,
seat limits, and that one shop's staff ids mean nothing in another shop."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from saas.db import db
from saas.jobs import make_worker
from saas.models import AuditEvent, Plan, Subscription
from saas.outbox import OutboxMessage
from saas.passwords import hash_password
from saas.tenancy import tenant_context
from tenants.backoffice.access import access_of
from tenants.staff.models import Staff, StaffToken
from tests.conftest import STAFF_PASSWORD, client_for

NEW_PASSWORD = "saffron-glacier-meadow-27"


def shop(app, tenant):
    return client_for(app, f"{tenant.slug}.localhost")


def member(app, tenant, *, id=None, email=None) -> Staff | None:
    with app.app_context(), tenant_context(tenant):
        query = select(Staff).where(Staff.id == id if id else Staff.email == email)
        row = db.session.scalar(query)
        if row is not None:
            db.session.expunge(row)
        return row


def staff_count(app, tenant) -> int:
    with app.app_context(), tenant_context(tenant):
        return db.session.scalar(select(func.count(Staff.id))) or 0


def audit_events(app, tenant, action) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tenant_id == tenant.id, AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


def mail_to(app, tenant, email) -> list[OutboxMessage]:
    with app.app_context(), tenant_context(tenant):
        rows = list(
            db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.to_address == email)
                .order_by(OutboxMessage.id)
            )
        )
        db.session.expunge_all()
        return rows


def invitation_link(message: OutboxMessage) -> str:
    match = re.search(r"http://[^/\s]+(/admin/invitation/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def run_jobs(app) -> None:
    make_worker(app).work(burst=True)


def invite(client, email, role="staff", areas=(), name="New Person"):
    return client.post(
        "/admin/staff/invite",
        data={"email": email, "name": name, "role": role, "areas": list(areas)},
    )


def accept(client, link, name="Nadia New", password=NEW_PASSWORD, confirm=None):
    return client.post(
        link,
        data={
            "name": name,
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
    )


def text(response) -> str:
    """The page as a reader sees it (entities such as &#39; decoded)."""
    return html.unescape(response.text)


def new_email() -> str:
    return f"person-{uuid.uuid4().hex[:8]}@example.com"


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_invite_email_accept_and_work_in_the_given_areas(app, make_tenant, staff_client):
    tenant = make_tenant(name="Olive Grove")
    owner = staff_client(tenant, role="owner", name="Oona Owner")
    staff_page = owner.get("/admin/staff")
    assert staff_page.status_code == 200
    assert "Oona Owner" in staff_page.text and "Owner" in staff_page.text
    assert "Invite someone" in staff_page.text

    form = owner.get("/admin/staff/invite")
    assert '<label for="email">Email</label>' in form.text
    assert "Content and themes" in form.text and 'value="admin"' in form.text

    email = new_email()
    response = invite(owner, email.upper(), areas=["products", "orders", "nonsense"])
    assert response.headers["Location"] == "/admin/staff"
    listing = owner.get("/admin/staff")
    assert f"Invitation sent to {email}." in listing.text
    assert "Invited" in listing.text and "Products, Orders" in listing.text
    row = member(app, tenant, email=email)
    assert (row.status, row.password_hash, row.permissions) == (
        "invited",
        None,
        ["products", "orders"],
    )
    assert row.invited_by_id == owner.staff.id
    [event] = audit_events(app, tenant, "staff.invited")
    assert event.detail["email"] == email and event.actor_id == owner.staff.id

    assert mail_to(app, tenant, email) == []  # sent by the job, after the commit
    run_jobs(app)
    [message] = mail_to(app, tenant, email)
    assert message.subject == "You're invited to help run Olive Grove"
    assert "Oona Owner invited you" in message.body
    link = invitation_link(message)

    invitee = shop(app, tenant)
    page = invitee.get(link)
    assert page.status_code == 200
    assert "Join Olive Grove" in page.text and email in page.text
    assert '<label for="password">Password</label>' in page.text

    done = accept(invitee, link)
    assert done.headers["Location"] == "/admin/"
    row = member(app, tenant, email=email)
    assert (row.status, row.name) == ("active", "Nadia New")
    assert invitee.get("/admin/products").status_code == 200
    assert invitee.get("/admin/orders").status_code == 200
    assert invitee.get("/admin/settings").status_code == 403
    assert invitee.get("/admin/staff").status_code == 403
    assert len(audit_events(app, tenant, "staff.joined")) == 1

    again = shop(app, tenant).get(link)
    assert again.status_code == 410 and "This invitation was already used." in again.text
    # And they can log in with the password they chose.
    login = shop(app, tenant).post("/admin/login", data={"email": email, "password": NEW_PASSWORD})
    assert login.status_code == 302


def test_bad_passwords_on_the_invitation_create_nothing(app, make_tenant, staff_client):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    email = new_email()
    invite(owner, email)
    run_jobs(app)
    link = invitation_link(mail_to(app, tenant, email)[0])
    client = shop(app, tenant)

    leaked = accept(client, link, password="password123")
    assert leaked.status_code == 400
    assert "This password appears in lists of leaked passwords." in leaked.text
    assert 'aria-describedby="password-hint password-error"' in leaked.text
    short = accept(client, link, password="short")
    assert short.status_code == 400 and "Use at least 10 characters." in short.text
    mismatch = accept(client, link, confirm="saffron-glacier-meadow-28")
    assert mismatch.status_code == 400 and "The two passwords do not match." in mismatch.text
    no_name = accept(client, link, name=" ")
    assert no_name.status_code == 400 and "Enter your name." in no_name.text
    assert 'value="Nadia New"' in mismatch.text  # what was typed is kept (not passwords)

    row = member(app, tenant, email=email)
    assert (row.status, row.password_hash) == ("invited", None)
    assert is_login_redirect(client.get("/admin/"))
    assert audit_events(app, tenant, "staff.joined") == []


def test_expired_invitation_is_refused(app, make_tenant, staff_client):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    email = new_email()
    invite(owner, email)
    run_jobs(app)
    link = invitation_link(mail_to(app, tenant, email)[0])
    with app.app_context(), tenant_context(tenant):
        db.session.execute(
            update(StaffToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()
    client = shop(app, tenant)
    page = client.get(link)
    assert page.status_code == 410
    assert "This invitation has expired." in page.text
    assert "Ask the shop's owner or an admin to send you a new invitation." in text(page)
    assert accept(client, link).status_code == 410
    row = member(app, tenant, email=email)
    assert (row.status, row.password_hash) == ("invited", None)
    assert is_login_redirect(client.get("/admin/"))


def test_resending_an_invitation_replaces_the_old_link(app, make_tenant, staff_client):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    email = new_email()
    invite(owner, email)
    run_jobs(app)
    row = member(app, tenant, email=email)
    resent = owner.post(f"/admin/staff/{row.id}/resend")
    assert resent.headers["Location"] == "/admin/staff"
    assert f"A new invitation was sent to {email}." in owner.get("/admin/staff").text
    run_jobs(app)
    first, second = (invitation_link(m) for m in mail_to(app, tenant, email))
    assert shop(app, tenant).get(first).status_code == 410
    assert shop(app, tenant).get(second).status_code == 200
    assert len(audit_events(app, tenant, "staff.invitation_resent")) == 1

    active = staff_client(tenant, role="staff")
    owner.post(f"/admin/staff/{active.staff.id}/resend")
    assert "has no pending invitation" in owner.get("/admin/staff").text


def test_duplicate_emails_are_refused(app, make_tenant, staff_client, make_staff):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    existing = make_staff(tenant)
    before = staff_count(app, tenant)
    taken = invite(owner, existing.email.upper())
    assert taken.status_code == 400
    assert "Someone with this email is already on your staff." in taken.text
    assert f'value="{existing.email.upper()}"' in taken.text  # the form keeps what was typed
    pending = new_email()
    invite(owner, pending)
    again = invite(owner, pending)
    assert again.status_code == 400 and "This person has already been invited." in again.text
    malformed = invite(owner, "not-an-email")
    assert malformed.status_code == 400 and "Enter an email address like" in malformed.text
    assert staff_count(app, tenant) == before + 1


def test_the_plan_limits_staff_seats(app, make_tenant, staff_client, make_staff):
    tenant = make_tenant()
    with app.app_context():
        plan = Plan(code=f"tiny-{uuid.uuid4().hex[:6]}", name="Tiny", price_cents=100, max_staff=3)
        db.session.add(plan)
        db.session.flush()
        db.session.add(Subscription(tenant_id=tenant.id, plan_id=plan.id))
        db.session.commit()
    owner = staff_client(tenant, role="owner")
    make_staff(tenant, status="disabled")  # removed people free their seat
    assert "1 of 3 staff seats in use on the Tiny plan." in owner.get("/admin/staff").text
    assert invite(owner, new_email()).status_code == 302
    assert invite(owner, new_email()).status_code == 302  # invitations hold a seat too
    full = invite(owner, new_email())
    assert full.status_code == 400
    assert "Your Tiny plan includes 3 staff seats, and all are in use" in full.text
    assert staff_count(app, tenant) == 4


def test_only_the_owner_invites_admins(app, make_tenant, staff_client):
    tenant = make_tenant()
    admin = staff_client(tenant, role="admin")
    form = admin.get("/admin/staff/invite")
    assert 'value="admin"' not in form.text
    email = new_email()
    refused = invite(admin, email, role="admin")
    assert refused.status_code == 400 and "Only the owner can invite an admin." in refused.text
    assert member(app, tenant, email=email) is None
    assert invite(admin, email, role="staff", areas=["orders"]).status_code == 302
    owner = staff_client(tenant, role="owner")
    assert invite(owner, new_email(), role="admin").status_code == 302
    assert invite(owner, new_email(), role="owner").status_code == 400  # there is one owner


def test_editing_roles_and_areas(app, make_tenant, staff_client):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    clerk = staff_client(tenant, role="staff", permissions=["orders"], name="Cleo Clerk")
    assert clerk.get("/admin/products").status_code == 403

    page = owner.get(f"/admin/staff/{clerk.staff.id}")
    assert page.status_code == 200 and "Cleo Clerk" in page.text
    assert re.search(r'value="orders" checked', page.text)
    saved = owner.post(
        f"/admin/staff/{clerk.staff.id}", data={"role": "staff", "areas": ["products"]}
    )
    assert saved.headers["Location"] == "/admin/staff"
    assert "Saved changes for Cleo Clerk." in owner.get("/admin/staff").text
    # The change applies to the clerk's very next request.
    assert clerk.get("/admin/products").status_code == 200
    assert clerk.get("/admin/orders").status_code == 403
    [event] = audit_events(app, tenant, "staff.updated")
    assert event.detail["before"] == {"role": "staff", "areas": ["orders"]}
    assert event.detail["after"] == {"role": "staff", "areas": ["products"]}

    promoted = owner.post(f"/admin/staff/{clerk.staff.id}", data={"role": "admin"})
    assert promoted.status_code == 302
    assert member(app, tenant, id=clerk.staff.id).role == "admin"
    assert clerk.get("/admin/staff").status_code == 200
    assert owner.post(f"/admin/staff/{clerk.staff.id}", data={"role": "owner"}).status_code == 400


def test_nobody_demotes_the_owner_or_changes_their_own_role(app, make_tenant, staff_client):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    admin = staff_client(tenant, role="admin")
    other_admin = staff_client(tenant, role="admin")
    owner_id = owner.staff.id

    page = admin.get(f"/admin/staff/{owner_id}")
    assert page.status_code == 200 and "The shop's owner can't be changed or removed." in text(page)
    assert admin.post(f"/admin/staff/{owner_id}", data={"role": "staff"}).status_code == 403
    assert owner.post(f"/admin/staff/{owner_id}", data={"role": "admin"}).status_code == 403
    assert admin.post(f"/admin/staff/{admin.staff.id}", data={"role": "staff"}).status_code == 403
    assert "You can't change your own role" in text(admin.get(f"/admin/staff/{admin.staff.id}"))
    assert (
        admin.post(f"/admin/staff/{other_admin.staff.id}", data={"role": "staff"}).status_code
        == 403
    )
    assert member(app, tenant, id=owner_id).role == "owner"
    assert member(app, tenant, id=admin.staff.id).role == "admin"
    assert member(app, tenant, id=other_admin.staff.id).role == "admin"
    assert audit_events(app, tenant, "staff.updated") == []


def test_removing_someone_ends_their_sessions(app, make_tenant, staff_client):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    leaving = staff_client(tenant, role="staff", permissions=["orders"], name="Lee Leaving")
    assert leaving.get("/admin/orders").status_code == 200

    confirm = owner.get(f"/admin/staff/{leaving.staff.id}/remove")
    assert confirm.status_code == 200
    assert "Remove Lee Leaving?" in confirm.text
    assert re.search(r'<button type="submit"[^>]*>Remove Lee Leaving</button>', confirm.text)
    assert member(app, tenant, id=leaving.staff.id).status == "active"  # GET changes nothing

    removed = owner.post(f"/admin/staff/{leaving.staff.id}/remove")
    assert removed.headers["Location"] == "/admin/staff"
    listing = owner.get("/admin/staff")
    assert "Lee Leaving was removed from the shop." in listing.text and "Removed" in listing.text
    row = member(app, tenant, id=leaving.staff.id)
    assert (row.status, row.session_version) == ("disabled", 2)
    assert is_login_redirect(leaving.get("/admin/orders"))
    login = shop(app, tenant).post(
        "/admin/login", data={"email": leaving.staff.email, "password": STAFF_PASSWORD}
    )
    assert login.status_code == 401
    [event] = audit_events(app, tenant, "staff.removed")
    assert event.detail["email"] == leaving.staff.email

    # Invited back later: the same row, pending again, with no password.
    assert invite(owner, leaving.staff.email).status_code == 302
    row = member(app, tenant, id=leaving.staff.id)
    assert (row.status, row.password_hash) == ("invited", None)


def test_the_owner_cannot_be_removed(app, make_tenant, staff_client):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    admin = staff_client(tenant, role="admin")
    page = admin.get(f"/admin/staff/{owner.staff.id}/remove")
    assert page.status_code == 403 and "The shop's owner can't be changed or removed." in text(page)
    assert admin.post(f"/admin/staff/{owner.staff.id}/remove").status_code == 403
    assert owner.post(f"/admin/staff/{owner.staff.id}/remove").status_code == 403
    assert member(app, tenant, id=owner.staff.id).status == "active"
    assert audit_events(app, tenant, "staff.removed") == []


def test_another_shops_staff_ids_are_not_found(app, make_tenant, staff_client, make_staff):
    a, b = make_tenant(), make_tenant()
    for _ in range(3):
        make_staff(a)
    far = make_staff(a)  # an id that shop B does not have
    owner_b = staff_client(b, role="owner")
    assert far.id > owner_b.staff.id
    assert owner_b.get(f"/admin/staff/{far.id}").status_code == 404
    assert owner_b.post(f"/admin/staff/{far.id}", data={"role": "admin"}).status_code == 404
    assert owner_b.get(f"/admin/staff/{far.id}/remove").status_code == 404
    assert owner_b.post(f"/admin/staff/{far.id}/remove").status_code == 404
    assert owner_b.post(f"/admin/staff/{far.id}/resend").status_code == 404
    assert far.email not in owner_b.get("/admin/staff").text
    assert member(app, a, id=far.id).status == "active"
    # An id both shops have opens shop B's own person, never shop A's.
    page = owner_b.get(f"/admin/staff/{owner_b.staff.id}")
    assert owner_b.staff.email in page.text


def test_an_invitation_link_works_only_in_its_own_shop(app, make_tenant, staff_client):
    a, b = make_tenant(), make_tenant()
    owner = staff_client(a, role="owner")
    email = new_email()
    invite(owner, email)
    run_jobs(app)
    link = invitation_link(mail_to(app, a, email)[0])
    assert shop(app, b).get(link).status_code == 400
    assert accept(shop(app, b), link).status_code == 400
    assert member(app, b, email=email) is None
    assert member(app, a, email=email).status == "invited"


def test_the_staff_list_is_paginated(app, make_tenant, staff_client):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    with app.app_context(), tenant_context(tenant):
        hashed = hash_password(STAFF_PASSWORD)
        db.session.add_all(
            Staff(
                email=f"p{i:02}@example.com",
                name=f"Person {i:02}",
                password_hash=hashed,
                status="active",
            )
            for i in range(55)
        )
        db.session.commit()
    first = owner.get("/admin/staff")
    assert "56 people on this shop" in first.text
    assert first.text.count("<tr>") == 51  # header row + 50
    assert "Page 1 of 2" in first.text and "Next page" in first.text
    second = owner.get("/admin/staff?page=2")
    assert second.text.count("<tr>") == 7 and "Previous page" in second.text
    assert "Nobody here on this page" in owner.get("/admin/staff?page=9").text


def test_staff_pages_are_for_owners_and_admins(app, make_tenant, staff_client):
    tenant = make_tenant()
    clerk = staff_client(tenant, role="staff", permissions=["products", "settings"])
    for path in ("/admin/staff", "/admin/staff/invite", f"/admin/staff/{clerk.staff.id}"):
        assert clerk.get(path).status_code == 403
    assert 'href="/admin/staff"' not in clerk.get("/admin/").text  # no link they cannot follow
    admin = staff_client(tenant, role="admin")
    assert 'href="/admin/staff"' in admin.get("/admin/").text
    with app.test_request_context():
        assert access_of("backoffice.staff") == "staff-admin"
