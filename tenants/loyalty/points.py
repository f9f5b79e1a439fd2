"""Loyalty points: earning, holding, spending, taking back, expiry and adjustments.

Every change is one `PointsEntry` and the same change to the customer's
`PointsAccount`, in one unit of work. A line with a `key` happens once ("order-earn:12"
again adds nothing), so a webhook or job that runs twice never pays twice. Amounts that
would take an account below zero are refused (spending, a merchant's adjustment) or cut
to what is there (taking back points already spent: the rest is forgiven, and the line
says so), so the balance never goes negative.

`now` is a parameter wherever time matters, so tests hold the clock.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from saas.db import db, single_row
from saas.money import exponent
from tenants.accounts.problems import FormProblem
from tenants.customers.models import Customer
from tenants.loyalty.models import (
    EntryKind,
    LoyaltyProgram,
    LoyaltyTier,
    PointsAccount,
    PointsEntry,
)
from tenants.orders.models import Order


class PointsError(FormProblem):
    """A change of points the rules refuse: messages by form field, for the person who
    asked."""


def program() -> LoyaltyProgram:
    """The shop's programme row (made, switched off, when first asked for)."""
    return single_row(LoyaltyProgram)


def active_program() -> LoyaltyProgram | None:
    found = db.session.get(LoyaltyProgram, 1)
    return found if found is not None and found.enabled else None


# --- reading ---------------------------------------------------------------------------


def account(customer_id: int) -> PointsAccount | None:
    return db.session.get(PointsAccount, customer_id)


def balance(customer_id: int) -> int:
    found = account(customer_id)
    return found.balance if found is not None else 0


def history(customer_id: int, limit: int = 50) -> list[PointsEntry]:
    return list(
        db.session.scalars(
            select(PointsEntry)
            .where(PointsEntry.customer_id == customer_id)
            .order_by(PointsEntry.id.desc())
            .limit(limit)
        )
    )


def unit(currency: str) -> int:
    """Minor units in one unit of `currency` (100 cents; 1 yen)."""
    return 10 ** exponent(currency)


def value_cents(points: int, rules: LoyaltyProgram, currency: str) -> int:
    """What `points` take off an order, in minor units (rounded down)."""
    return points * unit(currency) // rules.points_per_unit_off


def points_for_cents(cents: int, rules: LoyaltyProgram, currency: str) -> int:
    """The fewest points worth at least `cents` off."""
    return math.ceil(cents * rules.points_per_unit_off / unit(currency))


@dataclass(frozen=True)
class Liability:
    balance: int  # spendable points, all customers
    pending: int  # earned, still held
    customers: int  # customers with any points

    def cents(self, rules: LoyaltyProgram, currency: str) -> tuple[int, int]:
        return (
            value_cents(self.balance, rules, currency),
            value_cents(self.pending, rules, currency),
        )


def ledger_lines() -> int:
    return db.session.scalar(select(func.count()).select_from(PointsEntry)) or 0


def liability() -> Liability:
    """The programme's outstanding points: what the shop owes its customers."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(PointsAccount.balance), 0),
            func.coalesce(func.sum(PointsAccount.pending), 0),
            func.count().filter((PointsAccount.balance + PointsAccount.pending) > 0),
        )
    ).one()
    return Liability(int(row[0]), int(row[1]), int(row[2]))


# --- the one way a line is added ---------------------------------------------------------


def open_account(customer_id: int) -> None:
    db.session.execute(
        insert(PointsAccount)
        .values(customer_id=customer_id, balance=0, pending=0)
        .on_conflict_do_nothing(index_elements=["customer_id"])
    )


def _add(
    customer_id: int,
    kind: EntryKind,
    points: int,
    label: str,
    *,
    now: datetime,
    held_until: datetime | None = None,
    order_id: int | None = None,
    staff_id: int | None = None,
    reason: str = "",
    key: str | None = None,
    spend: bool = False,
    forgiven: int = 0,
) -> PointsEntry | None:
    """Add one line and change the account by it, or nothing (None) when `key` is
    already in the ledger or, with `spend`, when the balance is short: the update's own
    `balance >= n` test decides, so of two spends racing for the same points one wins
    and the other finds it short, whatever the isolation level."""
    if points == 0 and forgiven == 0:
        return None
    if key is not None and db.session.scalar(select(PointsEntry.id).where(PointsEntry.key == key)):
        return None
    open_account(customer_id)
    held = held_until is not None and held_until > now
    column = PointsAccount.pending if held else PointsAccount.balance
    statement = (
        update(PointsAccount)
        .where(PointsAccount.customer_id == customer_id)
        .values({column: column + points, PointsAccount.last_activity_at: now})
        .returning(PointsAccount.customer_id)
    )
    if spend:
        statement = statement.where(PointsAccount.balance >= -points)
    if db.session.execute(statement).first() is None:
        return None
    entry = PointsEntry(
        customer_id=customer_id,
        kind=kind,
        points=points,
        label=label,
        held=held,
        available_at=held_until if held and held_until is not None else now,
        order_id=order_id,
        staff_id=staff_id,
        reason=reason,
        key=key,
        forgiven=forgiven,
        created_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    # The account row changed under the ORM: what it holds in memory is stale.
    found = db.session.get(PointsAccount, customer_id)
    if found is not None:
        db.session.expire(found)
    return entry


# --- earning ---------------------------------------------------------------------------


def goods_paid_cents(order: Order) -> int:
    """What an order's points are earned on: the goods after discounts (points spent
    included), without shipping and taxes."""
    goods = order.subtotal_cents - order.discount_cents
    if order.taxes_included:
        goods -= sum(line.tax_cents for line in order.lines)
    return max(goods, 0)


def earned_for(order: Order, rules: LoyaltyProgram, multiplier_percent: int = 100) -> int:
    """The points an order earns: per unit of its items, times the customer's tier
    multiplier (in percent)."""
    units = goods_paid_cents(order) * rules.points_per_unit * multiplier_percent
    return units // (unit(order.currency) * 100)


def earn_for_order(order: Order, *, now: datetime | None = None) -> int:
    """An order was paid: its points (and a first order's bonus), held for the holding
    period. How many points, 0 when none (no programme, a guest, nothing to earn)."""
    rules = active_program()
    if rules is None or order.customer_id is None:
        return 0
    now = now or datetime.now(UTC)
    held_until = now + timedelta(days=rules.holding_days)
    label = f"Order #{order.number}"
    earned = 0
    entry = _add(
        order.customer_id,
        EntryKind.EARN,
        earned_for(order, rules, _tier_multiplier(order.customer_id)),
        label,
        now=now,
        held_until=held_until,
        order_id=order.id,
        key=f"order-earn:{order.id}",
    )
    earned += entry.points if entry else 0
    paid_before = db.session.scalar(
        select(func.count())
        .select_from(Order)
        .where(
            Order.customer_id == order.customer_id,
            Order.id != order.id,
            Order.paid_at.is_not(None),
        )
    )
    if rules.first_order_points and not paid_before:
        bonus = _add(
            order.customer_id,
            EntryKind.EARN,
            rules.first_order_points,
            f"First order ({label})",
            now=now,
            held_until=held_until,
            order_id=order.id,
            key=f"first-order:{order.customer_id}",
        )
        earned += bonus.points if bonus else 0
    return earned


def _tier_multiplier(customer_id: int) -> int:
    found = account(customer_id)
    if found is None or found.tier_id is None:
        return 100
    tier = db.session.get(LoyaltyTier, found.tier_id)
    return tier.points_multiplier_percent if tier is not None else 100


def award(
    customer_id: int, points: int, label: str, *, key: str, now: datetime | None = None
) -> PointsEntry | None:
    """A bonus the programme gives straight away (signing up, a published review)."""
    if active_program() is None:
        return None
    return _add(customer_id, EntryKind.EARN, points, label, now=now or datetime.now(UTC), key=key)


def award_signup(customer_id: int) -> None:
    rules = active_program()
    if rules is not None and rules.signup_points:
        award(customer_id, rules.signup_points, "Signing up", key=f"signup:{customer_id}")


def award_review(customer_id: int, review_id: int) -> None:
    rules = active_program()
    if rules is not None and rules.review_points:
        award(customer_id, rules.review_points, "A published review", key=f"review:{review_id}")


def award_birthdays(today: date) -> int:
    """The birthday bonus to the customers born on `today` (the shop's own day; someone
    born on 29 February celebrates on the 28th in other years), once a year each.
    How many were given."""
    rules = active_program()
    if rules is None or not rules.birthday_points:
        return 0
    days = [today.day]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append(29)
    born = db.session.scalars(
        select(Customer.id).where(
            Customer.password_hash.is_not(None),
            func.extract("month", Customer.birthday) == today.month,
            func.extract("day", Customer.birthday).in_(days),
        )
    ).all()
    given = 0
    for customer_id in born:
        key = f"birthday:{customer_id}:{today.year}"
        given += award(customer_id, rules.birthday_points, "Happy birthday", key=key) is not None
    return given


def release_due(*, now: datetime | None = None) -> int:
    """Held lines whose holding period is over become spendable. How many lines."""
    now = now or datetime.now(UTC)
    due = db.session.execute(
        update(PointsEntry)
        .where(PointsEntry.held, PointsEntry.available_at <= now)
        .values(held=False)
        .returning(PointsEntry.customer_id, PointsEntry.points)
    ).all()
    moved: dict[int, int] = {}
    for customer_id, points in due:
        moved[customer_id] = moved.get(customer_id, 0) + points
    for customer_id, points in moved.items():
        db.session.execute(
            update(PointsAccount)
            .where(PointsAccount.customer_id == customer_id)
            .values(
                pending=PointsAccount.pending - points,
                balance=PointsAccount.balance + points,
            )
        )
    db.session.expire_all()
    return len(due)


# --- an order's points undone ------------------------------------------------------------


def _order_lines(order_id: int) -> list[PointsEntry]:
    return list(
        db.session.scalars(
            select(PointsEntry).where(PointsEntry.order_id == order_id).order_by(PointsEntry.id)
        )
    )


def settle_order(order: Order, *, now: datetime | None = None) -> None:
    """After a refund or a cancellation: take back the share of what the order earned
    that its refunds (or the cancellation: all) call for, from each customer it earned
    for (the buyer; a friend who referred them), and give back the points it spent when
    it is cancelled. Safe to call again: it adds only what is still owed."""
    now = now or datetime.now(UTC)
    lines = _order_lines(order.id)
    label = f"Order #{order.number}"
    for customer_id in sorted({e.customer_id for e in lines if e.kind == EntryKind.EARN}):
        mine = [e for e in lines if e.customer_id == customer_id]
        earned = [e for e in mine if e.kind == EntryKind.EARN]
        taken = sum(
            e.forgiven - e.points for e in mine if e.kind == EntryKind.REVERSE and e.points < 0
        )
        total_earned = sum(e.points for e in earned)
        if order.cancelled_at is not None or order.total_cents == 0:
            owed = total_earned
        else:
            owed = math.ceil(total_earned * order.refunded_cents / order.total_cents)
        for entry in earned:  # held lines are taken back as held lines: they net out
            if owed <= taken:
                break
            part = min(entry.points, owed - taken)
            _take_back(order, entry, part, label, now)
            taken += part
    spent = -sum(e.points for e in lines if e.kind == EntryKind.REDEEM)
    if order.cancelled_at is not None and spent and order.customer_id is not None:
        _add(
            order.customer_id,
            EntryKind.REVERSE,
            spent,
            f"{label} cancelled: points given back",
            now=now,
            order_id=order.id,
            key=f"order-restore:{order.id}",
        )


def _take_back(order: Order, entry: PointsEntry, points: int, label: str, now: datetime) -> None:
    if entry.held:  # taken back as a held line: the two net out when they are released
        part, held_until, reason = points, entry.available_at, ""
    else:  # from what is spendable, never below zero: the rest is forgiven
        part, held_until = min(points, balance(entry.customer_id)), None
        forgiven = points - part
        reason = f"{forgiven} points already spent were not taken back" if forgiven else ""
    _add(
        entry.customer_id,
        EntryKind.REVERSE,
        -part,
        f"{label} refunded",
        now=now,
        held_until=held_until,
        order_id=order.id,
        reason=reason,
        forgiven=points - part,
    )


# --- spending --------------------------------------------------------------------------


def redeem(customer_id: int, points: int, order: Order, *, now: datetime | None = None) -> bool:
    """Spend `points` on `order` (checkout's step of placing it). False: the balance no
    longer has them (another tab spent them first), and nothing changed."""
    entry = _add(
        customer_id,
        EntryKind.REDEEM,
        -points,
        f"Order #{order.number}",
        now=now or datetime.now(UTC),
        order_id=order.id,
        key=f"order-redeem:{order.id}",
        spend=True,
    )
    return entry is not None


# --- the merchant's hand ------------------------------------------------------------------


MAX_ADJUSTMENT = 10_000_000


def adjust(customer_id: int, points: int, reason: str, *, staff_id: int | None) -> PointsEntry:
    """The merchant adds (or takes away) points, with a reason the ledger keeps."""
    reason = " ".join((reason or "").split())[:200]
    if points == 0:
        raise PointsError({"points": "Enter a number of points other than 0."})
    if abs(points) > MAX_ADJUSTMENT:
        raise PointsError({"points": f"Enter at most {MAX_ADJUSTMENT:,} points at a time."})
    if not reason:
        raise PointsError({"reason": "Say why: the reason stays in the customer's history."})
    entry = _add(
        customer_id,
        EntryKind.ADJUST,
        points,
        "Adjusted by the shop",
        now=datetime.now(UTC),
        staff_id=staff_id,
        reason=reason,
        spend=points < 0,
    )
    if entry is None:
        left = balance(customer_id)
        raise PointsError(
            {"points": f"The customer has only {left:,} spendable points to take away."}
        )
    return entry


# --- expiry ------------------------------------------------------------------------------


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day
    when it is shorter). Hand-written: the standard library has no month arithmetic,
    and these four lines do not justify a dependency."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def expire_inactive(*, now: datetime | None = None) -> int:
    """Spendable points of customers inactive for the programme's months expire.
    How many customers lost points."""
    rules = active_program()
    if rules is None or not rules.expiry_months:
        return 0
    now = now or datetime.now(UTC)
    cutoff = months_before(now, rules.expiry_months)
    stale = db.session.execute(
        select(PointsAccount.customer_id, PointsAccount.balance).where(
            PointsAccount.balance > 0, PointsAccount.last_activity_at < cutoff
        )
    ).all()
    for customer_id, points in stale:
        _add(
            customer_id,
            EntryKind.EXPIRE,
            -points,
            f"Expired after {rules.expiry_months} months without activity",
            now=now,
            spend=True,
        )
    return len(stale)
