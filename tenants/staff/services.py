"""The people who run a shop: logging in, passwords, invitations, roles and removal.

Views and jobs call these functions; they flush, the caller commits. Anything that
emails runs in a job (`send_password_reset`, `send_invitation`), queued after the
commit that made its data visible. What staff share with customers (rate-limited
login, reset links, password changes) is in `tenants.accounts`; this module says what
is staff's own: only active people log in, audit events, invitations and roles.

Problems a person can fix come back as `StaffProblem` with the form field they belong
to, so a view can show each message next to its input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from saas import audit
from saas.auth import revoke_sessions
from saas.billing import limits
from saas.billing.limits import Limit, LimitProblem
from saas.db import db
from saas.mail import send_email
from saas.models import Tenant
from saas.passwords import hash_password, verify_password
from saas.ratelimit import limiter
from saas.tenancy import current_tenant
from tenants.accounts import login, passwords, reset
from tenants.accounts.emails import MAX_EMAIL, email_problem, normalise_email
from tenants.accounts.kinds import AccountKind
from tenants.accounts.problems import FormProblem, Refused
from tenants.accounts.tokens import Links, already_sent, queue_mail
from tenants.staff.models import Area, Role, Staff, StaffStatus, StaffToken, TokenPurpose

INVITE_TTL = timedelta(days=7)
INVITE_LIMIT = "invite"  # `saas.ratelimit`: invitations sent, per inviter
MAX_NAME = 200
# The roles a person can be given from the back office (there is one owner, made at signup).
ASSIGNABLE_ROLES = (Role.ADMIN, Role.STAFF)


class StaffProblem(FormProblem):
    """Input the person must correct: messages by form field ("" for the whole form)."""


def _is_active(staff: Staff) -> bool:
    return staff.status == StaffStatus.ACTIVE


def _is_invited(staff: Staff) -> bool:
    return staff.status == StaffStatus.INVITED


RESET_LINKS = Links(
    token_model=StaffToken,
    owner_model=Staff,
    owner_key="staff_id",
    purpose=TokenPurpose.RESET,
    ttl=reset.RESET_TTL,
    what="password reset link",
    path="/admin/password/reset/",
    accepts=_is_active,
)
INVITE_LINKS = Links(
    token_model=StaffToken,
    owner_model=Staff,
    owner_key="staff_id",
    purpose=TokenPurpose.INVITE,
    ttl=INVITE_TTL,
    what="invitation",
    path="/admin/invitation/",
    accepts=_is_invited,
)
STAFF = AccountKind(
    problem=StaffProblem, login_limit="login", reset_limit="reset", reset_links=RESET_LINKS
)


def load_staff(staff_id: int, session_version: int) -> Staff | None:
    """The staff member a back-office session names (`saas.auth`), if still signed in."""
    staff = db.session.get(Staff, staff_id)
    if staff is None or staff.status != StaffStatus.ACTIVE:
        return None
    return staff if staff.session_version == session_version else None


def used_seats() -> int:
    """Staff seats in use (`saas.billing.limits`): invited and active people, not removed."""
    return (
        db.session.scalar(select(func.count(Staff.id)).where(Staff.status != StaffStatus.DISABLED))
        or 0
    )


def find_by_email(email: str) -> Staff | None:
    """The staff member (any status) with this email."""
    return db.session.scalar(select(Staff).where(Staff.email == normalise_email(email)))


def now() -> datetime:
    return datetime.now(UTC)


# --- logging in ------------------------------------------------------------------------


def authenticate(email: str, password: str) -> Staff | None:
    """The active staff member with these credentials, or None.

    Exactly one argon2 verification runs whatever the outcome (unknown email, invited
    account without a password, disabled account, wrong password), so the answer and
    the time it takes say nothing about which accounts exist.
    """
    staff = find_by_email(email)
    ok = verify_password(staff.password_hash if staff else None, password)
    if ok and staff is not None and staff.status == StaffStatus.ACTIVE:
        return staff
    return None


def log_in(email: str, password: str) -> Staff:
    """The active staff member with these credentials, within the rate limit. Raises Refused.

    A wrong email or password (not a rate-limited attempt) is audited; the caller's
    401 page commits that too. The caller starts the session, then `record_login`.
    """
    try:
        return login.check_login(STAFF, email, password, authenticate)
    except Refused as refused:
        if refused.status == 401:
            record_failed_login(normalise_email(email))
        raise


def record_login(staff: Staff, **detail: Any) -> None:
    """Note a successful login: the person's last login, the audit trail, shop activity."""
    staff.last_login_at = now()
    audit.record("staff.login", actor=staff, **detail)
    touch_tenant()


def record_failed_login(email: str) -> None:
    """Audit a refused login: the same event whether or not the email belongs to someone
    (no staff id in it)."""
    audit.record("staff.login_failed", actor=("visitor", None, None), email=email[:MAX_EMAIL])


def touch_tenant() -> None:
    """Mark the shop active now (the operator console lists shops by last activity)."""
    # A Core UPDATE: the column is not in the host cache, so no cache invalidation is due.
    db.session.execute(
        update(Tenant).where(Tenant.id == current_tenant.id).values(last_active_at=now())
    )


# --- passwords -------------------------------------------------------------------------


def change_password(staff: Staff, current: str, new: str, confirm: str) -> None:
    """The signed-in person changes their own password. Raises StaffProblem (429: too
    many attempts). Their other sessions end; the caller starts a fresh one here."""
    passwords.change_password(STAFF, staff, current, new, confirm)
    audit.record("staff.password_changed", actor=staff)


def rename(staff: Staff, name: str) -> None:
    """The signed-in person's own name. Raises StaffProblem."""
    name = name.strip()
    if not name:
        raise StaffProblem({"name": "Enter your name."})
    if len(name) > MAX_NAME:
        raise StaffProblem({"name": f"Use at most {MAX_NAME} characters."})
    if name != staff.name:
        audit.record("staff.renamed", actor=staff, before=staff.name, after=name)
        staff.name = name


# --- password reset --------------------------------------------------------------------


def ask_for_password_reset(email: str) -> None:
    """Queue the reset email job for `email`, known or not. Raises Refused (429, 400)."""
    reset.ask_for_reset(STAFF, email, send_password_reset)


def send_password_reset(email: str, request_key: str | None = None) -> None:
    """Job: email a one-hour reset link to `email` if it is an active staff member's.

    `request_key` makes a retried job send nothing more once its email is recorded.
    """
    dedupe_key = f"reset:{request_key}" if request_key else None
    if dedupe_key and already_sent(dedupe_key):
        return
    staff = find_by_email(email)
    if staff is None or staff.status != StaffStatus.ACTIVE:
        return
    link, token = RESET_LINKS.issue(staff.id)
    send_email(  # commits the token with the message
        staff.email,
        f"Reset your password for {current_tenant.name}",
        f"Hello {staff.name or ''},\n\n"
        f"Someone (hopefully you) asked to reset your password for the back office of "
        f"{current_tenant.name}. Choose a new password here:\n\n{link}\n\n"
        f"The link works once, for one hour. If you did not ask for this, ignore this "
        f"email: your password stays as it is.\n",
        dedupe_key=dedupe_key or f"reset:{token.id}",
    )


def reset_password(token: StaffToken, password: str, confirm: str) -> Staff:
    """Set a new password through a reset link. Raises StaffProblem or LinkProblem."""
    staff = reset.reset_password(STAFF, token, password, confirm)
    audit.record("staff.password_reset", actor=staff)
    return staff


# --- invitations -----------------------------------------------------------------------


@dataclass(frozen=True)
class Seats:
    plan_name: str | None
    used: int
    limit: int | None  # None: the plan has no limit (or the shop has no subscription)

    @property
    def full(self) -> bool:
        return self.limit is not None and self.used >= self.limit


def seats(*, lock: bool = False) -> Seats:
    """The shop's staff seats: invited people hold one too, removed people do not.

    With `lock`, the shop's subscription row is locked until the transaction ends, so
    two invitations racing for the last seat are decided one after the other.
    """
    subscription = limits.subscription(current_tenant.id, lock=lock)
    used = limits.used_seats()
    if subscription is None:
        return Seats(None, used, None)
    return Seats(subscription.plan.name, used, subscription.plan.max_staff)


def seat_limit_problem() -> LimitProblem | None:
    """Why the shop cannot add one more person under its plan, or None; locks the
    subscription row until the transaction ends (see saas.billing.limits)."""
    return limits.limit_problem(current_tenant.id, Limit.STAFF, lock=True)


def seat_problem() -> str | None:
    """`seat_limit_problem` as text."""
    problem = seat_limit_problem()
    return str(problem) if problem else None


def clean_areas(areas: Iterable[str]) -> list[str]:
    """The known areas among `areas`, in the order of `Area`."""
    known = {a.value for a in Area}
    return [a.value for a in Area if a.value in set(areas) & known]


def is_owner_like(actor: Any) -> bool:
    """The owner, or an operator in a full impersonation session."""
    return getattr(actor, "role", None) == Role.OWNER or bool(
        getattr(actor, "is_impersonation", False)
    )


def invite(actor: Any, email: str, name: str, role: str, areas: Iterable[str]) -> Staff:
    """Add an invited staff member; a job emails the invitation after the commit.

    Raises StaffProblem (429: the actor sent too many invitations lately).
    """
    if limited := limiter().hit(INVITE_LIMIT, actor.email):
        raise StaffProblem({"": limited.message}, 429)
    email = normalise_email(email)
    name = name.strip()
    errors: dict[str, str] = {}
    if problem := email_problem(email):
        errors["email"] = problem
    if len(name) > MAX_NAME:
        errors["name"] = f"Use at most {MAX_NAME} characters."
    if role not in ASSIGNABLE_ROLES:
        errors["role"] = "Choose a role."
    elif role == Role.ADMIN and not is_owner_like(actor):
        errors["role"] = "Only the owner can invite an admin."
    existing = find_by_email(email) if "email" not in errors else None
    if existing is not None and existing.status != StaffStatus.DISABLED:
        errors["email"] = (
            "This person has already been invited."
            if existing.status == StaffStatus.INVITED
            else "Someone with this email is already on your staff."
        )
    if not errors and (full := seat_limit_problem()):
        # A removed person invited back takes a seat again, like anyone new.
        errors[""] = full.html()
    if errors:
        raise StaffProblem(errors)
    permissions = clean_areas(areas) if role == Role.STAFF else []
    if existing is not None:  # a removed person invited back: one row per email
        staff = existing
        staff.password_hash = None
        revoke_sessions(staff)
    else:
        staff = Staff(email=email)
        db.session.add(staff)
    staff.name = name
    staff.role = role
    staff.permissions = permissions
    staff.status = StaffStatus.INVITED
    staff.invited_by_id = actor.id if isinstance(actor, Staff) else None
    db.session.flush()
    audit.record(
        "staff.invited", actor=actor, staff_id=staff.id, email=email, role=role, areas=permissions
    )
    queue_invitation(staff.id)
    return staff


def queue_invitation(staff_id: int) -> None:
    """After the commit: have a job email the invitation."""
    queue_mail(send_invitation, staff_id)


def send_invitation(staff_id: int, request_key: str | None = None) -> None:
    """Job: email a seven-day invitation link to an invited staff member."""
    dedupe_key = f"invite:{staff_id}:{request_key}" if request_key else None
    if dedupe_key and already_sent(dedupe_key):
        return
    staff = db.session.get(Staff, staff_id)
    if staff is None or staff.status != StaffStatus.INVITED:
        return
    link, token = INVITE_LINKS.issue(staff.id)
    inviter = staff.invited_by.name if staff.invited_by and staff.invited_by.name else None
    send_email(
        staff.email,
        f"You're invited to help run {current_tenant.name}",
        f"Hello {staff.name or ''},\n\n"
        f"{inviter or 'The team'} invited you to the back office of {current_tenant.name}. "
        f"Accept the invitation and choose your password here:\n\n{link}\n\n"
        f"The link works once, for seven days.\n",
        dedupe_key=dedupe_key or f"invite:{token.id}",
    )


def accept_invitation(token: StaffToken, name: str, password: str, confirm: str) -> Staff:
    """Turn an invitation into an active account. Raises StaffProblem or LinkProblem."""
    staff = INVITE_LINKS.owner(token)
    name = name.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter your name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Use at most {MAX_NAME} characters."
    errors.update(passwords.new_password_errors(staff.email, name or staff.name, password, confirm))
    if errors:
        raise StaffProblem(errors)
    INVITE_LINKS.spend(token)
    staff.name = name
    staff.password_hash = hash_password(password)
    staff.status = StaffStatus.ACTIVE
    audit.record("staff.joined", actor=staff, role=staff.role, areas=list(staff.permissions))
    return staff


# --- roles and removal -----------------------------------------------------------------


def why_cannot_manage(actor: Any, staff: Staff) -> str | None:
    """Why `actor` may not change `staff`'s role, areas or membership; None if they may."""
    if isinstance(actor, Staff) and actor.id == staff.id:
        return "You can't change your own role or remove yourself."
    if staff.role == Role.OWNER:
        return "The shop's owner can't be changed or removed."
    if staff.role == Role.ADMIN and not is_owner_like(actor):
        return "Only the owner can change or remove an admin."
    if staff.status == StaffStatus.DISABLED:
        return "This person was removed from the shop."
    return None


def update_role(actor: Any, staff: Staff, role: str, areas: Iterable[str]) -> bool:
    """Change a staff member's role and areas. Raises StaffProblem; True if anything changed."""
    if problem := why_cannot_manage(actor, staff):
        raise StaffProblem({"": problem})
    if role not in ASSIGNABLE_ROLES:
        raise StaffProblem({"role": "Choose a role."})
    if role == Role.ADMIN and not is_owner_like(actor):
        raise StaffProblem({"role": "Only the owner can make someone an admin."})
    permissions = clean_areas(areas) if role == Role.STAFF else []
    before = {"role": staff.role, "areas": list(staff.permissions or [])}
    after = {"role": role, "areas": permissions}
    if before == after:
        return False
    staff.role = role
    staff.permissions = permissions
    audit.record(
        "staff.updated",
        actor=actor,
        staff_id=staff.id,
        email=staff.email,
        before=before,
        after=after,
    )
    return True


def remove(actor: Any, staff: Staff) -> None:
    """Take someone off the shop: their sessions end and their links stop working."""
    if problem := why_cannot_manage(actor, staff):
        raise StaffProblem({"": problem})
    staff.status = StaffStatus.DISABLED
    revoke_sessions(staff)
    for links in (RESET_LINKS, INVITE_LINKS):
        links.expire(staff.id)
    audit.record("staff.removed", actor=actor, staff_id=staff.id, email=staff.email)


def resend_invitation(actor: Any, staff: Staff) -> None:
    """Have a job email a new invitation after the commit (the earlier link stops working).

    Raises StaffProblem (429: the actor sent too many invitations lately).
    """
    if limited := limiter().hit(INVITE_LIMIT, actor.email):
        raise StaffProblem({"": limited.message}, 429)
    if staff.status != StaffStatus.INVITED:
        raise StaffProblem({"": f"{staff.email} has no pending invitation."})
    audit.record("staff.invitation_resent", actor=actor, staff_id=staff.id, email=staff.email)
    queue_invitation(staff.id)
