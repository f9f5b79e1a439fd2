"""A shop's customers: accounts on the storefront and what the back office does with them.

Storefront: registering, logging in, password reset by a mailed link, changing the
password, order history (the address book is `address_book`, the wishlist `wishlist`).
Checkout: `find_or_create_guest` gives every order a customer row, an account or a
guest known only by email. Back office: the customer list, a customer's totals, notes,
tags and marketing consent. What accounts share with staff (rate-limited login, reset
links, password changes) is in `tenants.accounts`.

Views, jobs and checkout call these functions; they flush, the caller commits. Email
goes out from a job (`send_password_reset`), queued after the commit that made its data
visible. Problems a person can fix come back as `CustomerProblem` with the form field
they belong to.

Guest orders and accounts: an order placed without an account belongs to a guest row
(a customer without a password) when checkout calls `find_or_create_guest`, or to no
row at all. Registering with that email later must not show those orders to whoever
typed the email, so an email with guest orders is claimed only through a link mailed
to it: `register` then sends that link instead of making an account, and following it
(`reset_password`) sets the password on the guest row, which keeps its orders; orders
placed with the email and tied to no row are tied to it then (`claim_orders`). Order
history is the orders tied to the customer, so nothing shows before the email is proved.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from saas import audit
from saas.db import db
from saas.mail import send_email
from saas.passwords import hash_password, verify_password
from saas.ratelimit import limiter
from saas.tenancy import current_tenant
from saas.tenancy.sites import in_back_office
from tenants import signals
from tenants.accounts import login, passwords, reset
from tenants.accounts.emails import email_problem, normalise_email
from tenants.accounts.kinds import AccountKind
from tenants.accounts.tokens import Links, already_sent, queue_mail

# The address book is `address_book`; checkout (`tenants/shop/checkout.py`) and the back
# office's customer page still find these three here until they import it from there.
from tenants.customers.address_book import address_dict as address_dict
from tenants.customers.address_book import addresses as addresses
from tenants.customers.address_book import default_address as default_address
from tenants.customers.details import MAX_NAME, text_problem
from tenants.customers.details import update_details as update_details
from tenants.customers.models import Customer, CustomerToken
from tenants.customers.problems import CustomerProblem
from tenants.orders.models import SALE_STATUSES, Fulfillment, Order

ACCOUNT_EXISTS = "There's already an account with this email. Log in, or reset your password."
REGISTER_PAUSED = "Many sign-ups were just tried from your network, so signing up is paused."
RESET = "reset"  # CustomerToken.purpose of password links (resets and guests' claims)
MAX_NOTE = 5000
MAX_TAGS = 30
MAX_TAG = 100  # the column's length


# A guest's claim of their orders is a reset link too: it sets the row's first password.
RESET_LINKS = Links(
    token_model=CustomerToken,
    owner_model=Customer,
    owner_key="customer_id",
    purpose=RESET,
    ttl=reset.RESET_TTL,
    what="password link",
    path="/account/reset/",
)
CUSTOMERS = AccountKind(
    problem=CustomerProblem,
    login_limit="customer-login",
    reset_limit="customer-reset",
    reset_links=RESET_LINKS,
)


def find_by_email(email: str) -> Customer | None:
    """The customer row (an account or a guest) with this email."""
    return db.session.scalar(select(Customer).where(Customer.email == normalise_email(email)))


# --- checkout ----------------------------------------------------------------------------


def find_or_create_guest(email: str, name: str = "") -> Customer:
    """The customer row for `email`: the account if there is one, else a guest row.

    For checkout: every order gets `customer_id` from here (or from the logged-in
    customer), so a shopper's orders are found again when they claim their email.
    Safe when two checkouts with a new email race: one inserts, both get the same row.
    A blank name on the row is filled from `name`; a name already there is kept.
    Raises CustomerProblem for an email that is not one.
    """
    email = normalise_email(email)
    if problem := email_problem(email):
        raise CustomerProblem({"email": problem})
    name = " ".join(name.split())[:MAX_NAME]
    db.session.execute(
        pg_insert(Customer)
        .values(
            email=email,
            name=name,
            phone="",
            password_hash=None,
            accepts_marketing=False,
            note="",
            tags=[],
            session_version=1,
        )
        .on_conflict_do_nothing(index_elements=[Customer.email])
    )
    customer = db.session.scalars(
        select(Customer).where(Customer.email == email).execution_options(populate_existing=True)
    ).one()
    if name and not customer.name:
        customer.name = name
    return customer


# --- accounts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """What `register` did: made `customer` (log them in), or mailed a link instead."""

    customer: Customer | None
    email: str  # as stored
    # The email has ordered here as a guest: a link to it is queued (it goes out after
    # the commit); the caller tells the person to check their email.
    link_needed: bool = False


def _has_guest_history(email: str) -> bool:
    """Whether orders were placed here with `email` before it had an account."""
    return bool(db.session.scalar(select(exists().where(func.lower(Order.email) == email))))


def register(
    email: str,
    password: str,
    confirm: str,
    *,
    name: str = "",
    accepts_marketing: bool = False,
) -> Registration:
    """Open an account. Raises CustomerProblem (429: too many registrations from here).

    Emails are unique per shop and compared lowercased. An email that already has an
    account is refused. An email known from guest orders is claimed, never duplicated:
    no account is made now, and a link is mailed that sets the password on the
    existing row (so only the owner of the email ever sees its orders).

    Form mistakes never count against the limit; what reaches the create step does
    (an account made, a link mailed, or an email found taken: that tells who has one).
    """
    if locked := limiter().locked("customer-register"):
        raise CustomerProblem({"": f"{REGISTER_PAUSED} {locked.wait}"}, 429)
    email = normalise_email(email)
    name = " ".join(name.split())
    errors: dict[str, str] = {}
    if problem := email_problem(email):
        errors["email"] = problem
    if problem := text_problem(name, "your name", MAX_NAME, required=False):
        errors["name"] = problem
    if errors:
        raise CustomerProblem(errors)
    existing = find_by_email(email)
    if existing is not None and existing.has_account:
        limiter().count("customer-register")
        raise CustomerProblem({"email": ACCOUNT_EXISTS})
    if existing is not None or _has_guest_history(email):
        limiter().count("customer-register")
        if existing is None:
            find_or_create_guest(email, name)
        request_password_reset(email)
        return Registration(None, email, link_needed=True)
    errors = passwords.new_password_errors(email, name, password, confirm)
    if errors:
        raise CustomerProblem(errors)
    limiter().count("customer-register")
    customer = Customer(
        email=email,
        name=name,
        phone="",
        password_hash=hash_password(password),
        accepts_marketing=accepts_marketing,
        note="",
        tags=[],
        session_version=1,
    )
    try:
        with db.session.begin_nested():
            db.session.add(customer)
    except IntegrityError:
        # Someone registered (or checked out with) this email a moment ago.
        raise CustomerProblem({"email": ACCOUNT_EXISTS}) from None
    signals.customer_signed_up.send(customer)
    return Registration(customer, email)


def authenticate(email: str, password: str) -> Customer | None:
    """The customer with these credentials, or None.

    Exactly one argon2 verification runs whatever the outcome (unknown email, a guest
    without a password, wrong password), so neither the answer nor the time it takes
    says which emails have accounts.
    """
    customer = find_by_email(email)
    ok = verify_password(customer.password_hash if customer else None, password)
    return customer if ok and customer is not None else None


def log_in(email: str, password: str) -> Customer:
    """The customer with these credentials, within the rate limit. Raises Refused.

    The caller starts the session, then `record_login`.
    """
    return login.check_login(CUSTOMERS, email, password, authenticate)


def record_login(customer: Customer) -> None:
    """Note a successful login (not a session renewed after a password change)."""
    customer.last_login_at = datetime.now(UTC)


def change_password(customer: Customer, current: str, new: str, confirm: str) -> None:
    """The logged-in customer changes their password. Raises CustomerProblem (429: too
    many attempts).

    Bumps the session version: every other session of theirs ends; the caller starts
    a fresh one for this browser.
    """
    passwords.change_password(CUSTOMERS, customer, current, new, confirm)


# --- password links ------------------------------------------------------------------------


def ask_for_password_reset(email: str) -> None:
    """Queue the password-link email for `email`, known or not. Raises Refused (429, 400)."""
    reset.ask_for_reset(CUSTOMERS, email, send_password_reset)


def request_password_reset(email: str) -> None:
    """Queue the password-link email (after the commit), whether or not the email is known."""
    queue_mail(send_password_reset, normalise_email(email))


def send_password_reset(email: str, request_key: str | None = None) -> None:
    """Job: mail a one-hour password link to `email` if a customer of this shop has it.

    An account gets "reset your password"; a guest (orders, no password) gets "finish
    creating your account", the same link. `request_key` makes a retried job send
    nothing more once its email is recorded.
    """
    dedupe_key = f"customer-reset:{request_key}" if request_key else None
    if dedupe_key and already_sent(dedupe_key):
        return
    customer = find_by_email(email)
    if customer is None and _has_guest_history(email):
        # Orders placed before checkout tied every order to a customer row.
        customer = find_or_create_guest(email)
    if customer is None:
        return
    link, token = RESET_LINKS.issue(customer.id)
    greeting = f"Hello {customer.name},\n\n" if customer.name else "Hello,\n\n"
    if customer.has_account:
        subject = f"Reset your password for {current_tenant.name}"
        body = (
            f"{greeting}Someone (hopefully you) asked to reset the password of your account "
            f"at {current_tenant.name}. Choose a new password here:\n\n{link}\n\n"
            f"The link works once, for one hour. If you did not ask for this, ignore this "
            f"email: your password stays as it is.\n"
        )
    else:
        subject = f"Finish creating your account at {current_tenant.name}"
        body = (
            f"{greeting}Someone (hopefully you) asked to open an account at "
            f"{current_tenant.name} with this email. You have ordered with us before, so "
            f"choose your password here and your orders will be in your account:\n\n"
            f"{link}\n\nThe link works once, for one hour. If you did not ask for this, "
            f"ignore this email: no account is made.\n"
        )
    # Commits the token with the message.
    send_email(
        customer.email, subject, body, dedupe_key=dedupe_key or f"customer-reset:t{token.id}"
    )


def reset_password(token: CustomerToken, password: str, confirm: str) -> Customer:
    """Set the password through a mailed link. Raises CustomerProblem or LinkProblem.

    For a guest this finishes their account: the row keeps its orders, and orders
    placed with the email but tied to no customer are claimed too (the link proved the
    email is theirs).
    """
    had_account = db.session.scalar(
        select(Customer.password_hash.is_not(None)).where(Customer.id == token.customer_id)
    )
    customer = reset.reset_password(CUSTOMERS, token, password, confirm)
    claim_orders(customer)
    if not had_account:
        signals.customer_signed_up.send(customer)
    return customer


def claim_orders(customer: Customer) -> int:
    """Tie orders placed with the customer's email (and no customer) to them; how many."""
    result = db.session.execute(
        update(Order)
        .where(Order.customer_id.is_(None), func.lower(Order.email) == customer.email)
        .values(customer_id=customer.id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- orders --------------------------------------------------------------------------------


def orders_query(customer: Customer) -> Select[Order]:
    """The customer's orders, newest first (placed logged in, or as a guest and claimed)."""
    return (
        select(Order)
        .where(Order.customer_id == customer.id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
    )


def customer_order(customer: Customer, number: int) -> Order | None:
    """The customer's order numbered `number` (never anyone else's)."""
    return db.session.scalar(
        select(Order).where(Order.number == number, Order.customer_id == customer.id)
    )


def order_by_token(token: str) -> Order | None:
    """The order a status link names (the order's random token), or None."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Order).where(Order.token == token))


_ORDER_NUMBER = re.compile(r"^#?\s*(\d{1,9})$")


def lookup_order(number: str, email: str) -> Order | None:
    """A guest's order from its number ("1001" or "#1001") and the email it was placed with.

    One query whichever part is wrong, so the answer and its timing are the same for a
    wrong number and a wrong email. The order gets a status-link token if it had none.
    """
    match = _ORDER_NUMBER.match(number.strip())
    email = normalise_email(email)
    order = db.session.scalar(
        select(Order).where(
            Order.number == (int(match.group(1)) if match else -1),
            func.lower(Order.email) == email,
        )
    )
    if order is not None and order.token is None:
        order.token = secrets.token_urlsafe(24)
    return order


def tracking_link(fulfillment: Fulfillment) -> str | None:
    """The carrier's tracking page, only if it is a plain web address."""
    url = (fulfillment.tracking_url or "").strip()
    return url if re.match(r"^https?://[^\s/]+", url, re.IGNORECASE) else None


# --- the back office -----------------------------------------------------------------------

# The list's sort orders (the view labels them).
LIST_SORTS = ("newest", "oldest", "name", "email", "spent", "orders")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped}%"


def customers_query(
    *, q: str = "", account: str = "", marketing: str = "", sort: str = "newest"
) -> Select[Customer, int, int]:
    """Rows of (Customer, number of orders, amount spent) for the back-office list.

    `q` searches name and email; `account` and `marketing` are "yes", "no" or "" (any).
    The amount spent counts orders that took money (`SALE_STATUSES`) less refunds.
    """
    paid = Order.payment_status.in_([str(s) for s in SALE_STATUSES])
    stats = (
        select(
            Order.customer_id.label("customer_id"),
            func.count(Order.id).label("orders"),
            func.coalesce(
                func.sum(case((paid, Order.total_cents - Order.refunded_cents), else_=0)), 0
            ).label("spent"),
        )
        .where(Order.customer_id.is_not(None))
        .group_by(Order.customer_id)
        .subquery()
    )
    orders = func.coalesce(stats.c.orders, 0)
    spent = func.coalesce(stats.c.spent, 0)
    query = select(Customer, orders.label("orders"), spent.label("spent")).outerjoin(
        stats, stats.c.customer_id == Customer.id
    )
    q = q.strip()
    if q:
        pattern = _like(q)
        query = query.where(or_(Customer.name.ilike(pattern), Customer.email.ilike(pattern)))
    if account == "yes":
        query = query.where(Customer.password_hash.is_not(None))
    elif account == "no":
        query = query.where(Customer.password_hash.is_(None))
    if marketing == "yes":
        query = query.where(Customer.accepts_marketing.is_(True))
    elif marketing == "no":
        query = query.where(Customer.accepts_marketing.is_(False))
    order_by: dict[str, tuple[Any, ...]] = {
        "newest": (Customer.created_at.desc(), Customer.id.desc()),
        "oldest": (Customer.created_at, Customer.id),
        "name": (func.lower(Customer.name), Customer.email, Customer.id),
        "email": (Customer.email, Customer.id),
        "spent": (spent.desc(), Customer.id.desc()),
        "orders": (orders.desc(), Customer.id.desc()),
    }
    return query.order_by(*order_by.get(sort, order_by["newest"]))


LIST_FILTERS = ("q", "account", "marketing", "sort")


def list_filters(args: Mapping[str, str]) -> dict[str, str]:
    """The customers list's filters from a query string, cleaned: what the
    list shows in its form and an export keeps; an unknown sort is "" (newest)."""
    filters = {name: (args.get(name) or "").strip() for name in LIST_FILTERS}
    if filters["sort"] not in LIST_SORTS:
        filters["sort"] = ""
    return filters


def list_query(filters: Mapping[str, str]) -> Select[Customer, int, int]:
    """`customers_query` for the list's filters (`list_filters`)."""
    return customers_query(
        q=filters.get("q", ""),
        account=filters.get("account", ""),
        marketing=filters.get("marketing", ""),
        sort=filters.get("sort") or "newest",
    )


@dataclass(frozen=True)
class Summary:
    orders: int
    # (currency, minor units) per currency the customer paid in: a shop that changed
    # its currency has orders in both, and amounts in two currencies do not add up.
    spent: list[tuple[str, int]]
    last_order_at: datetime | None


def summary(customer: Customer) -> Summary:
    """A customer's number of orders, amount spent (paid orders, less refunds), last order."""
    paid = Order.payment_status.in_([str(s) for s in SALE_STATUSES])
    totals = db.session.execute(
        select(Order.currency, func.sum(Order.total_cents - Order.refunded_cents))
        .where(Order.customer_id == customer.id, paid)
        .group_by(Order.currency)
        .order_by(Order.currency)
    ).all()
    count, last = db.session.execute(
        select(func.count(Order.id), func.max(Order.placed_at)).where(
            Order.customer_id == customer.id
        )
    ).one()
    return Summary(
        orders=int(count or 0),
        spent=[(currency, int(cents or 0)) for currency, cents in totals],
        last_order_at=last,
    )


def parse_tags(text: str) -> list[str]:
    """Comma-separated tags, tidied: spaces collapsed, duplicates (any case) dropped."""
    tags: list[str] = []
    seen: set[str] = set()
    for raw in text.split(","):
        tag = " ".join(raw.split())
        if tag and tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    return tags


def update_notes(customer: Customer, note: str, tags_text: str) -> bool:
    """The merchant's note and tags on a customer. Raises CustomerProblem; True if changed."""
    note = note.replace("\r\n", "\n").strip()
    tags = parse_tags(tags_text)
    errors: dict[str, str] = {}
    if len(note) > MAX_NOTE:
        errors["note"] = f"Keep the note under {MAX_NOTE:,} characters."
    elif any((ord(c) < 32 and c not in "\n\t") or ord(c) == 127 for c in note):
        errors["note"] = "Remove the control characters."
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"Use at most {MAX_TAGS} tags."
    elif long := [t for t in tags if len(t) > MAX_TAG]:
        errors["tags"] = f"Keep each tag under {MAX_TAG} characters (“{long[0][:20]}…” is longer)."
    elif any(ord(c) < 32 or ord(c) == 127 for t in tags for c in t):
        errors["tags"] = "Remove the control characters."
    if errors:
        raise CustomerProblem(errors)
    before = {"note": customer.note, "tags": list(customer.tags or [])}
    if before == {"note": note, "tags": tags}:
        return False
    customer.note = note
    customer.tags = tags
    audit.record(
        "customer.updated",
        customer_id=customer.id,
        fields=sorted(k for k, v in (("note", note), ("tags", tags)) if before[k] != v),
    )
    return True


def set_marketing_consent(customer: Customer, accepts: bool, reason: str = "") -> bool:
    """Record a change of marketing consent made in the back office (audited); True if changed.

    `reason` is how the merchant learned of it (the customer asked by phone...), kept
    with the audit event.
    """
    reason = " ".join(reason.split())
    if problem := text_problem(reason, "a reason", 200, required=False):
        raise CustomerProblem({"reason": problem})
    if customer.accepts_marketing == accepts:
        return False
    customer.accepts_marketing = accepts
    audit.record(
        "customer.marketing_consent_changed",
        reason=reason or None,
        customer_id=customer.id,
        email=customer.email,
        accepts_marketing=accepts,
    )
    return True


def load_customer(customer_id: int, session_version: int) -> Customer | None:
    """The shopper a storefront session names (`saas.auth`), if still signed in. Never
    in the back office: there a customer's session counts for nobody."""
    if in_back_office():
        return None
    customer = db.session.get(Customer, customer_id)
    if customer is None or customer.password_hash is None:  # a guest row never logs in
        return None
    return customer if customer.session_version == session_version else None
