"""A shop's customers: accounts on the storefront and what the back office does with them.

Storefront: registering, logging in, password reset by a mailed link, changing the
password, an address book, a wishlist, order history. Checkout: `find_or_create_guest`
gives every order a customer row, an account or a guest known only by email. Back
office: the customer list, a customer's totals, notes, tags and marketing consent.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from saas import audit
from saas.auth import revoke_sessions
from saas.db import db
from saas.jobs import enqueue
from saas.mail import send_email
from saas.outbox import OutboxMessage
from saas.passwords import check_new_password, hash_password, verify_password
from saas.tenancy import current_tenant
from saas.tenancy.sites import absolute_url, in_back_office, shop_host
from saas.tokens import new_token, token_hash
from tenants.catalog.models import Product, ProductStatus
from tenants.customers.models import Customer, CustomerAddress, CustomerToken, WishlistItem
from tenants.geo import addresses as address_rules
from tenants.orders.models import SALE_STATUSES, Fulfillment, Order
from tenants.staff.services import email_problem, normalise_email

ACCOUNT_EXISTS = "There's already an account with this email. Log in, or reset your password."
RESET_TTL = timedelta(hours=1)
RESET = "reset"  # CustomerToken.purpose of password links (resets and guests' claims)
MAX_NAME = 200
MAX_NOTE = 5000
MAX_TAGS = 30
MAX_TAG = 100  # the column's length
MAX_ADDRESSES = 30
MAX_WISHLIST = 500


@dataclass
class CustomerProblem(Exception):
    """Input the person must correct: messages by form field ("" for the whole form)."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(self.errors.values())


class LinkProblem(Exception):
    """A password link that cannot be used; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def now() -> datetime:
    return datetime.now(UTC)


def _text_problem(value: str, label: str, max_length: int, *, required: bool) -> str | None:
    if required and not value:
        return f"Enter {label}."
    if len(value) > max_length:
        return f"Use at most {max_length} characters."
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "Remove the control characters."
    return None


def find_by_email(email: str) -> Customer | None:
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


def related_words(email: str, name: str = "") -> list[str]:
    """Words a customer's password must not lean on."""
    return [w for w in (email, name, current_tenant.name, current_tenant.slug) if w]


@dataclass(frozen=True)
class Registration:
    """What `register` did: made `customer` (log them in), or mailed a link instead."""

    customer: Customer | None
    # The email has ordered here as a guest: the caller commits, then calls
    # `request_password_reset(email)`, and tells the person to check their email.
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
    """Open an account. Raises CustomerProblem.

    Emails are unique per shop and compared lowercased. An email that already has an
    account is refused. An email known from guest orders is claimed, never duplicated:
    nothing is written now, and the caller mails a link that sets the password on the
    existing row (so only the owner of the email ever sees its orders).
    """
    email = normalise_email(email)
    name = " ".join(name.split())
    errors: dict[str, str] = {}
    if problem := email_problem(email):
        errors["email"] = problem
    if problem := _text_problem(name, "your name", MAX_NAME, required=False):
        errors["name"] = problem
    if errors:
        raise CustomerProblem(errors)
    existing = find_by_email(email)
    if existing is not None and existing.has_account:
        raise CustomerProblem({"email": ACCOUNT_EXISTS})
    if existing is not None or _has_guest_history(email):
        if existing is None:
            find_or_create_guest(email, name)
        return Registration(None, link_needed=True)
    errors = check_new_password(password, confirm, related_words(email, name))
    if errors:
        raise CustomerProblem(errors)
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
    return Registration(customer)


def authenticate(email: str, password: str) -> Customer | None:
    """The customer with these credentials, or None.

    Exactly one argon2 verification runs whatever the outcome (unknown email, a guest
    without a password, wrong password), so neither the answer nor the time it takes
    says which emails have accounts.
    """
    customer = find_by_email(email)
    ok = verify_password(customer.password_hash if customer else None, password)
    return customer if ok and customer is not None else None


def record_login(customer: Customer) -> None:
    customer.last_login_at = now()


def set_password(customer: Customer, password: str) -> None:
    """Store a new password, end every session issued before now, spoil mailed links."""
    customer.password_hash = hash_password(password)
    revoke_sessions(customer)
    _expire_tokens(customer.id)


def change_password(customer: Customer, current: str, new: str, confirm: str) -> None:
    """The logged-in customer changes their password. Raises CustomerProblem.

    Bumps the session version: every other session of theirs ends; the caller starts
    a fresh one for this browser.
    """
    errors: dict[str, str] = {}
    if not verify_password(customer.password_hash, current):
        errors["current_password"] = "Your current password is not correct."  # noqa: S105
    errors.update(
        check_new_password(
            new, confirm, related_words(customer.email, customer.name), "new_password"
        )
    )
    if not errors and verify_password(customer.password_hash, new):
        errors["new_password"] = "Choose a password different from your current one."  # noqa: S105
    if errors:
        raise CustomerProblem(errors)
    set_password(customer, new)


def update_details(customer: Customer, name: str, accepts_marketing: bool) -> bool:
    """The customer's own name and newsletter choice. Raises CustomerProblem; True if changed."""
    name = " ".join(name.split())
    if problem := _text_problem(name, "your name", MAX_NAME, required=False):
        raise CustomerProblem({"name": problem})
    changed = name != customer.name or accepts_marketing != customer.accepts_marketing
    customer.name = name
    customer.accepts_marketing = accepts_marketing
    return changed


# --- password links ------------------------------------------------------------------------


def _expire_tokens(customer_id: int) -> None:
    db.session.execute(
        update(CustomerToken)
        .where(
            CustomerToken.customer_id == customer_id,
            CustomerToken.purpose == RESET,
            CustomerToken.used_at.is_(None),
            CustomerToken.expires_at > now(),
        )
        .values(expires_at=now())
    )


def _issue_token(customer: Customer) -> tuple[str, CustomerToken]:
    """A fresh one-hour link for `customer`; earlier unused links stop working."""
    _expire_tokens(customer.id)
    raw, hashed = new_token()
    token = CustomerToken(
        customer_id=customer.id, purpose=RESET, token_hash=hashed, expires_at=now() + RESET_TTL
    )
    db.session.add(token)
    db.session.flush()
    return raw, token


def request_password_reset(email: str) -> None:
    """Queue the password-link email. Called for every request, known email or not."""
    enqueue(send_password_reset, normalise_email(email), secrets.token_hex(8), queue="mail")


def send_password_reset(email: str, request_key: str | None = None) -> None:
    """Job: mail a one-hour password link to `email` if a customer of this shop has it.

    An account gets "reset your password"; a guest (orders, no password) gets "finish
    creating your account", the same link. `request_key` makes a retried job send
    nothing more once its email is recorded.
    """
    dedupe_key = f"customer-reset:{request_key}" if request_key else None
    if dedupe_key and db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    ):
        return
    customer = find_by_email(email)
    if customer is None and _has_guest_history(email):
        # Orders placed before checkout tied every order to a customer row.
        customer = find_or_create_guest(email)
    if customer is None:
        return
    raw, token = _issue_token(customer)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    link = absolute_url(app, shop_host(app, current_tenant.slug), f"/account/reset/{raw}")
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


def usable_token(raw: str) -> CustomerToken:
    """The token behind link `raw`, if it can still be used; else raise LinkProblem."""
    token = None
    if raw and len(raw) <= 100:
        token = db.session.scalar(
            select(CustomerToken).where(
                CustomerToken.token_hash == token_hash(raw), CustomerToken.purpose == RESET
            )
        )
    if token is None:
        raise LinkProblem("This password link is not valid. Check that you copied all of it.", 400)
    if token.used_at is not None:
        raise LinkProblem("This password link was already used.", 410)
    if token.expires_at <= now():
        raise LinkProblem("This password link has expired.", 410)
    return token


def token_customer(token: CustomerToken) -> Customer:
    customer = db.session.get(Customer, token.customer_id)
    if customer is None:  # the foreign key cascades; only a race gets here
        raise LinkProblem("This password link is no longer valid.", 410)
    return customer


def reset_password(token: CustomerToken, password: str, confirm: str) -> Customer:
    """Set the password through a mailed link. Raises CustomerProblem or LinkProblem.

    For a guest this finishes their account: the row keeps its orders, and orders
    placed with the email but tied to no customer are claimed too (the link proved the
    email is theirs).
    """
    customer = token_customer(token)
    errors = check_new_password(password, confirm, related_words(customer.email, customer.name))
    if errors:
        raise CustomerProblem(errors)
    # One UPDATE decides, so two racing requests cannot both use the link.
    spent = db.session.scalar(
        update(CustomerToken)
        .where(CustomerToken.id == token.id, CustomerToken.used_at.is_(None))
        .values(used_at=now())
        .returning(CustomerToken.id)
    )
    if spent is None:
        raise LinkProblem("This password link was already used.", 410)
    set_password(customer, password)
    claim_orders(customer)
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


# --- addresses -----------------------------------------------------------------------------

# An address-book entry has the keys of an order's address (`addresses.FIELDS`).
ADDRESS_FIELDS = tuple(address_rules.FIELDS)


def check_address(form: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(cleaned values, errors by field) for an address-book entry.

    Checkout's own rules (`tenants.geo.addresses`: required fields, regions and
    postal codes per country), so an address saved here is one checkout accepts.
    """
    return address_rules.validate_address(form)


def address_of(customer: Customer, address_id: int) -> CustomerAddress | None:
    """One of the customer's own addresses (never another customer's)."""
    return db.session.scalar(
        select(CustomerAddress).where(
            CustomerAddress.id == address_id, CustomerAddress.customer_id == customer.id
        )
    )


def addresses(customer: Customer) -> list[CustomerAddress]:
    """The customer's addresses, the default first."""
    return list(
        db.session.scalars(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == customer.id)
            .order_by(CustomerAddress.is_default.desc(), CustomerAddress.id)
        )
    )


def default_address(customer: Customer) -> CustomerAddress | None:
    return db.session.scalar(
        select(CustomerAddress).where(
            CustomerAddress.customer_id == customer.id, CustomerAddress.is_default.is_(True)
        )
    )


def address_dict(address: CustomerAddress) -> dict[str, str]:
    """An address as plain data (what an order keeps a copy of, and a form shows)."""
    return {name: getattr(address, name) or "" for name in ADDRESS_FIELDS}


def _make_default(customer: Customer, address: CustomerAddress) -> None:
    db.session.execute(
        update(CustomerAddress)
        .where(CustomerAddress.customer_id == customer.id, CustomerAddress.id != address.id)
        .values(is_default=False)
        .execution_options(synchronize_session=False)
    )
    address.is_default = True


def add_address(
    customer: Customer, form: Mapping[str, Any], *, default: bool = False
) -> CustomerAddress:
    """Add an address to the book (the first one becomes the default). Raises CustomerProblem."""
    values, errors = check_address(form)
    count = db.session.scalar(
        select(func.count()).where(CustomerAddress.customer_id == customer.id)
    )
    if not errors and (count or 0) >= MAX_ADDRESSES:
        errors[""] = f"Your address book is full ({MAX_ADDRESSES} addresses). Delete one first."
    if errors:
        raise CustomerProblem(errors)
    address = CustomerAddress(customer_id=customer.id, is_default=False, **values)
    db.session.add(address)
    db.session.flush()
    if default or not count:
        _make_default(customer, address)
    return address


def update_address(
    customer: Customer, address: CustomerAddress, form: Mapping[str, Any], *, default: bool = False
) -> None:
    """Change one of the customer's addresses. Raises CustomerProblem."""
    values, errors = check_address(form)
    if errors:
        raise CustomerProblem(errors)
    for name, value in values.items():
        setattr(address, name, value)
    if default:
        _make_default(customer, address)


def set_default_address(customer: Customer, address: CustomerAddress) -> None:
    _make_default(customer, address)


def delete_address(customer: Customer, address: CustomerAddress) -> None:
    """Remove an address; if it was the default, the oldest remaining one takes over."""
    was_default = address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        successor = db.session.scalar(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == customer.id)
            .order_by(CustomerAddress.id)
            .limit(1)
        )
        if successor is not None:
            successor.is_default = True


# --- wishlist ------------------------------------------------------------------------------


def add_to_wishlist(customer: Customer, product_id: int) -> bool:
    """Save an active product to the wishlist; True if it is there now. Twice is once."""
    product = db.session.get(Product, product_id)
    if product is None or product.status != ProductStatus.ACTIVE:
        return False
    count = db.session.scalar(select(func.count()).where(WishlistItem.customer_id == customer.id))
    if (count or 0) >= MAX_WISHLIST and not in_wishlist(customer, product_id):
        raise CustomerProblem(
            {"": f"Your wishlist is full ({MAX_WISHLIST} products). Remove some first."}
        )
    db.session.execute(
        pg_insert(WishlistItem)
        .values(customer_id=customer.id, product_id=product_id)
        .on_conflict_do_nothing()
    )
    return True


def remove_from_wishlist(customer: Customer, product_id: int) -> bool:
    """Take a product off the wishlist; True if it was on it."""
    item = db.session.get(WishlistItem, (customer.id, product_id))
    if item is None:
        return False
    db.session.delete(item)
    return True


def in_wishlist(customer: Customer, product_id: int) -> bool:
    return db.session.get(WishlistItem, (customer.id, product_id)) is not None


def wishlist_products(customer: Customer) -> list[Product]:
    """The wishlist's products that shoppers can see, the latest saved first.

    Products unpublished since (draft, archived) are left out, not shown: a draft may
    be a product nobody is meant to see yet.
    """
    return list(
        db.session.scalars(
            select(Product)
            .join(WishlistItem, WishlistItem.product_id == Product.id)
            .where(WishlistItem.customer_id == customer.id, Product.status == ProductStatus.ACTIVE)
            .order_by(WishlistItem.created_at.desc(), Product.id.desc())
        )
    )


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
    if problem := _text_problem(reason, "a reason", 200, required=False):
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
