"""Points at checkout: what a signed-in customer's points can take off this order, and
how many of them the order uses. Priced again at every step, like the rest of checkout
(`tenants.checkout.services.price`); spent only when the order is placed
(`tenants.checkout.services.place`, through `points.redeem`)."""

from __future__ import annotations

from dataclasses import dataclass

from tenants.loyalty import points


@dataclass(frozen=True)
class Offer:
    """What the customer's points can do for this order."""

    balance: int
    most: int  # the most points this order takes (balance, share of the goods)
    most_cents: int
    min_redeem: int
    max_share_percent: int
    points_per_unit_off: int
    unit_cents: int  # one unit of the currency, which `points_per_unit_off` points make


@dataclass(frozen=True)
class Use:
    points: int = 0
    cents: int = 0
    problem: str = ""  # why what was asked for cannot be used as it is


def offer(customer_id: int | None, goods_cents: int, currency: str) -> Offer | None:
    """None: no programme, no signed-in customer, or no points to offer."""
    rules = points.active_program()
    if rules is None or customer_id is None:
        return None
    balance = points.balance(customer_id)
    if balance <= 0:
        return None
    cap = goods_cents * rules.max_share_percent // 100
    most_cents = min(points.value_cents(balance, rules, currency), cap)
    return Offer(
        balance=balance,
        most=min(points.points_for_cents(most_cents, rules, currency), balance),
        most_cents=most_cents,
        min_redeem=rules.min_redeem,
        max_share_percent=rules.max_share_percent,
        points_per_unit_off=rules.points_per_unit_off,
        unit_cents=points.unit(currency),
    )


def use(found: Offer | None, requested: int, currency: str) -> Use:
    """The points of `requested` this order can use: never more than the offer's most,
    never fewer than the programme's minimum, and only as many as the amount off needs."""
    rules = points.active_program()
    if found is None or rules is None or requested <= 0:
        return Use(problem="You have no points to use." if requested > 0 else "")
    asked = min(requested, found.most)
    if asked < found.min_redeem:
        return Use(problem=f"Use at least {found.min_redeem:,} points at a time.")
    cents = min(points.value_cents(asked, rules, currency), found.most_cents)
    if cents <= 0:
        return Use(problem="Those points are worth less than the smallest amount off.")
    used = min(points.points_for_cents(cents, rules, currency), asked)
    capped = "" if requested <= found.most else (
        f"This order takes at most {found.most:,} points ({found.max_share_percent}% of its items)."
    )  # fmt: skip
    return Use(points=used, cents=cents, problem=capped)
