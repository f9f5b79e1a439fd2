"""Merchant signup: from a form to a live shop with its owner logged in.

Everything a new shop needs is created in one database transaction: the tenant row,
its schema and tables, its settings, the owner's account, a trial subscription, the
audit event and the one-time token that logs the owner in on the shop's host. Any
failure rolls all of it back (PostgreSQL DDL is transactional), so there is never a
half-made shop. The welcome email is queued only after the commit.

Double submits are safe: the form carries a random `signup_key` that is stored on the
tenant (unique). A second submit with the same key finds the shop the first one made;
if the password matches, it is logged in there too, and nothing is created twice.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas import audit, handoff
from saas.db import atomic, db
from saas.email_address import email_problem, normalise_email
from saas.jobs import enqueue
from saas.models import HandoffPurpose, Tenant, TenantStatus
from saas.passwords import hash_password, password_problem, verify_password
from saas.plans import start_trial
from saas.tenancy import tenant_context
from saas.tenancy.provisioning import SlugTaken, create_tenant, schema_session, slug_available
from saas.tenancy.sites import InvalidSlug, validate_slug
from tenants.settings.onboarding import send_welcome_email
from tenants.staff.models import Area, Role, Staff, StaffStatus

log = logging.getLogger(__name__)

# The columns' lengths (Tenant.name, Staff.name); the back office's settings check the same.
MAX_SHOP_NAME = 200
MAX_OWNER_NAME = 200
# How long a repeated submit of the same form may still log in to the shop it made.
RESUBMIT_WINDOW = timedelta(minutes=10)


@dataclass
class SignupRequest:
    shop_name: str = ""
    slug: str = ""
    owner_name: str = ""
    email: str = ""
    email_confirm: str = ""
    password: str = ""
    signup_key: str = ""

    @classmethod
    def from_form(cls, form: dict[str, str]) -> SignupRequest:
        get = lambda k: (form.get(k) or "").strip()  # noqa: E731
        return cls(
            # Names are checked, never cut: `validate` says what is too long.
            shop_name=get("shop_name"),
            slug=get("slug").lower(),
            owner_name=get("owner_name"),
            email=normalise_email(form.get("email")),
            email_confirm=normalise_email(form.get("email_confirm")),
            password=form.get("password") or "",
            signup_key=get("signup_key")[:64],
        )


@dataclass
class SignupFailed(Exception):
    """The form cannot be accepted; `errors` maps field names to messages for people."""

    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SignupResult:
    tenant_id: int
    slug: str
    entry_url: str  # the shop's hand-off URL: logs the owner in on the shop's host
    created: bool  # False when a repeated submit found the shop it had already made


def suggest_slug(name: str) -> str:
    """A shop address derived from a name: "Café Ünïcorn & Co" -> "cafe-unicorn-co"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return re.sub(r"-{2,}", "-", slug)[:63].strip("-")


def check_slug(slug: str) -> str | None:
    """Why `slug` cannot be a new shop's address (None if it can)."""
    try:
        validate_slug(slug)
    except InvalidSlug as e:
        return str(e)
    if not slug_available(slug):
        return f"The address “{slug}” is already taken."
    return None


def _too_long(what: str, limit: int, text: str) -> str:
    return f"{what} can have at most {limit} characters; this one has {len(text):,}."


def validate(req: SignupRequest) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not req.shop_name:
        errors["shop_name"] = "Enter your shop's name."
    elif len(req.shop_name) > MAX_SHOP_NAME:
        errors["shop_name"] = _too_long("A shop name", MAX_SHOP_NAME, req.shop_name)
    if not req.slug:
        req.slug = suggest_slug(req.shop_name)
    problem = check_slug(req.slug) if req.slug else "Choose an address for your shop."
    if problem:
        errors["slug"] = problem
    if not req.owner_name:
        errors["owner_name"] = "Enter your name."
    elif len(req.owner_name) > MAX_OWNER_NAME:
        errors["owner_name"] = _too_long("Your name", MAX_OWNER_NAME, req.owner_name)
    if problem := email_problem(req.email):
        errors["email"] = problem
    elif req.email != req.email_confirm:
        errors["email_confirm"] = "The two email addresses do not match."
    problem = password_problem(
        req.password, related=[req.email, req.owner_name, req.shop_name, req.slug]
    )
    if problem:
        errors["password"] = problem
    return errors


def _existing(req: SignupRequest) -> SignupResult | None:
    """The shop an earlier submit of this same form made, if this submit may enter it."""
    if not req.signup_key:
        return None
    tenant = db.session.scalar(select(Tenant).where(Tenant.signup_key == req.signup_key))
    if tenant is None:
        return None
    with tenant_context(tenant):
        owner = db.session.scalar(select(Staff).where(Staff.role == Role.OWNER))
        owner_id, owner_hash = (owner.id, owner.password_hash) if owner else (None, None)
    recent = tenant.created_at > datetime.now(UTC) - RESUBMIT_WINDOW
    if not (recent and tenant.status == TenantStatus.ACTIVE and owner_id):
        raise SignupFailed({"form": "This signup was already completed. Please log in."})
    if not verify_password(owner_hash, req.password):
        raise SignupFailed({"form": "This signup was already completed. Please log in."})
    raw, _ = handoff.issue(HandoffPurpose.SIGNUP, tenant.id, staff_id=owner_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return SignupResult(tenant.id, tenant.slug, handoff.entry_url(app, tenant.slug, raw), False)


def sign_up(req: SignupRequest) -> SignupResult:
    """Create the shop, its owner and its trial; return where to send the browser.

    Raises:
        SignupFailed: with a message per field; nothing has been created.
    """
    existing = _existing(req)
    if existing:
        return existing
    errors = validate(req)
    if errors:
        raise SignupFailed(errors)
    try:
        with atomic():  # a lost race undoes only this, then finds the winner
            tenant = create_tenant(
                req.slug,
                req.shop_name,
                owner_email=req.email,
                launched=False,
                signup_key=req.signup_key or None,
            )
            with schema_session(tenant.schema) as session:
                owner = Staff(
                    email=req.email,
                    name=req.owner_name,
                    password_hash=hash_password(req.password),
                    role=Role.OWNER,
                    permissions=[str(a) for a in Area],
                    status=StaffStatus.ACTIVE,
                )
                session.add(owner)
                session.flush()
                owner_id = owner.id
            start_trial(tenant)
            audit.record(
                "tenant.signed_up",
                tenant_id=tenant.id,
                actor=("staff", owner_id, req.email),
                slug=tenant.slug,
            )
            raw, _ = handoff.issue(HandoffPurpose.SIGNUP, tenant.id, staff_id=owner_id)
    except SlugTaken as e:
        raise SignupFailed({"slug": str(e)}) from None
    except IntegrityError:
        # Lost a race: the same form submitted twice at once, or the same address
        # claimed by someone else a moment earlier. Nothing of ours was kept.
        existing = _existing(req)
        if existing:
            return existing
        raise SignupFailed({"slug": f"The address “{req.slug}” is already taken."}) from None

    _queue_welcome(tenant.id, req.email)
    log.info("signup: shop %s created for %s", tenant.slug, req.email)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return SignupResult(tenant.id, tenant.slug, handoff.entry_url(app, tenant.slug, raw), True)


def _queue_welcome(tenant_id: int, email: str) -> None:
    # Queued once the shop commits; a queue that fails then is logged, never undoes it.
    enqueue(send_welcome_email, email, queue="mail", tenant_id=tenant_id)
