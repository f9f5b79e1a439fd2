"""Rate limits for login, signup and password reset.

Two ways to count. `hit` counts every attempt and refuses once a rule is over (reset
requests, invitations, carts...). Logins, codes and passwords count only what failed:
`locked` says whether a try may go ahead, `count` records a failed one (or, for signups,
a completed one) and says how many tries are left; the try that uses the last one locks
for the rule's whole period from then on, so "locked for 15 minutes" is what happens.
`reset` forgets an account's count and lock once it succeeds.

Counters live in Redis (shared by every web worker). When Redis does not answer, the
limiter falls back to per-process counters rather than letting attempts through
unlimited or refusing everyone: a Redis outage weakens the limit, it never lifts it.

Keys name the site and, on shops, the tenant, so one shop's attempts never count
against another's (`platform:`/`t:<id>:` prefixes, as `saas.cache` asks).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, current_app, has_request_context, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

from saas.tenancy import get_current_tenant

log = logging.getLogger(__name__)
T = TypeVar("T")

# Rules per action: (what to count by, limit). Several rules apply to one attempt.
RULES: dict[str, list[tuple[str, str]]] = {
    "login": [("ip", "20/15 minutes"), ("account", "8/15 minutes")],
    "totp": [("ip", "20/15 minutes"), ("account", "6/15 minutes")],
    # Only shops created count (`count` after `sign_up`): typos and form errors cost
    # nothing and never lock anyone out; a shop costs a schema, a trial and an email.
    "signup": [("ip", "10/hour")],
    "reset": [("ip", "10/hour"), ("account", "3/hour")],
    "invite": [("account", "30/hour")],
    "storefront-password": [("ip", "20/15 minutes")],
    "newsletter": [("ip", "10/hour")],  # storefront signups: keeps bots from filling the list
    # Shoppers' accounts on a storefront: counted apart from staff logins on the same host.
    "customer-login": [("ip", "20/15 minutes"), ("account", "8/15 minutes")],
    # Registrations that reach the create step (made, mailed a link, or found taken),
    # never form errors.
    "customer-register": [("ip", "10/hour")],
    "customer-reset": [("ip", "10/hour"), ("account", "3/hour")],
    # Guest order lookup by number and email; "account" is the order number, so nobody
    # can walk through the emails that might go with one order.
    "order-lookup": [("ip", "20/15 minutes"), ("account", "5/15 minutes")],
    # Guessing discount codes, and bots making a cart on every add.
    "discount-code": [("ip", "30/15 minutes")],
    "cart-add": [("ip", "300/hour")],
    # The contact form and answers on a conversation's page: people write a few
    # messages an hour, bots hundreds.
    "contact": [("ip", "10/hour")],
    "contact-reply": [("ip", "30/hour")],
    # Reviews sent (not form errors); "account" is the order, so one order's links
    # cannot flood a product, nor one network every product.
    "review": [("ip", "10/hour"), ("account", "10/day")],
    "review-report": [("ip", "20/hour")],
}


def duration(seconds: float) -> str:
    """Seconds as people say them, rounded up: "1 minute", "12 minutes", "1 hour"."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    hours = math.ceil(minutes / 60)
    return f"{hours} hour" + ("" if hours == 1 else "s")


# Who a count is about, as the messages name it.
_WHOSE = {"account": "for this account", "ip": "from your network"}
_LOCKED = {"account": "this account is locked", "ip": "tries from your network are paused"}


@dataclass(frozen=True)
class Limited:
    retry_after: int  # seconds
    by: str = "ip"  # the rule that refuses: "ip" or "account"

    @property
    def message(self) -> str:
        """For `hit`'s refusals, which are not about failed tries."""
        return f"Too many attempts. Please wait {duration(self.retry_after)} and try again."

    @property
    def wait(self) -> str:
        return f"Try again in {duration(self.retry_after)}."

    @property
    def refusal(self) -> str:
        """A lock after failed tries: whose, and when the next try is possible."""
        return f"Too many failed tries {_WHOSE[self.by]}. {self.wait}"


@dataclass(frozen=True)
class Count:
    """What one counted try left: the tries before a lock, or the lock it started."""

    remaining: int  # under the rule closest to locking
    limit: int
    by: str
    lock_seconds: int  # how long that rule locks for
    locked: Limited | None = None  # this try used the last one

    @property
    def warn(self) -> bool:
        # Said once half the tries are gone: a first typo needs no countdown.
        return self.locked is None and self.remaining <= self.limit // 2

    @property
    def note(self) -> str:
        """The sentence a door adds to its own "that was wrong" (may be empty)."""
        if self.locked is not None:
            return self.locked.refusal
        if self.warn:
            tries = "1 try" if self.remaining == 1 else f"{self.remaining} tries"
            return f"{tries} left before {_LOCKED[self.by]} for {duration(self.lock_seconds)}."
        return ""

    def after(self, message: str) -> str:
        return f"{message} {self.note}".rstrip()


# A lock is one count under its own key whose expiry is the locking rule's period.
_LOCK = parse("1/second")


class Limiter:
    def __init__(self, app: Flask) -> None:
        pool = app.extensions["redis"].connection_pool
        self.redis = FixedWindowRateLimiter(
            RedisStorage("redis://", connection_pool=pool, key_prefix="platform:ratelimit")
        )
        self.memory = FixedWindowRateLimiter(MemoryStorage())

    def _each(self, use: Callable[[FixedWindowRateLimiter], T]) -> T:
        """`use` on the Redis limiter, or on this process's when Redis does not answer."""
        for limiter in (self.redis, self.memory):
            try:
                return use(limiter)
            except Exception:
                if limiter is self.memory:
                    raise
                log.warning("rate-limit store unavailable; counting in this process")
        raise AssertionError("unreachable")

    def _hit(self, item: RateLimitItem, key: str) -> tuple[bool, float]:
        def hit(limiter: FixedWindowRateLimiter) -> tuple[bool, float]:
            allowed = limiter.hit(item, key)
            return allowed, limiter.get_window_stats(item, key).reset_time

        return self._each(hit)

    def _keys(self, action: str, account: str | None) -> list[tuple[str, RateLimitItem, str]]:
        """(by, rule, key) of each rule of `action` that applies to this attempt."""
        tenant = get_current_tenant()
        scope = f"t:{tenant.id}" if tenant else "platform"
        keys = []
        for by, rule in RULES[action]:
            if by == "account" and not account:
                continue
            if by == "ip" and not has_request_context():
                continue  # (a CLI reset: only the account's counts concern it)
            who = (account or "").strip().lower() if by == "account" else request.remote_addr
            keys.append((by, parse(rule), f"{scope}:{action}:{by}:{who}"))
        return keys

    def hit(self, action: str, account: str | None = None) -> Limited | None:
        """Count one attempt at `action`; return `Limited` if it is over any rule."""
        if not current_app.config["RATELIMIT_ENABLED"]:
            return None
        worst: float = 0
        for _, item, key in self._keys(action, account):
            allowed, reset = self._hit(item, key)
            if not allowed:
                worst = max(worst, reset - time.time())
        return Limited(max(1, int(worst))) if worst else None

    def _until(self, item: RateLimitItem, key: str) -> float | None:
        """When a full counter (or a lock) frees up; None if there is room."""

        def until(limiter: FixedWindowRateLimiter) -> float | None:
            if limiter.test(item, key):
                return None
            return limiter.get_window_stats(item, key).reset_time

        return self._each(until)

    def _remaining(self, item: RateLimitItem, key: str) -> int:
        """Count one under `key`; the tries left in its window."""

        def remaining(limiter: FixedWindowRateLimiter) -> int:
            limiter.hit(item, key)
            return limiter.get_window_stats(item, key).remaining

        return self._each(remaining)

    def _lock(self, item: RateLimitItem, key: str) -> None:
        """Lock `key` for `item`'s whole period from now; its counter starts again."""
        lock_key = _LOCK.key_for(f"{key}:lock")
        self._each(lambda limiter: limiter.storage.incr(lock_key, item.get_expiry()))
        self._each(lambda limiter: limiter.clear(item, key))

    def locked(self, action: str, account: str | None = None) -> Limited | None:
        """Whether a try at `action` must wait, and how long (the longest lock).

        Counts nothing. A full counter without its lock (the store failed in between)
        waits for its window too.
        """
        if not current_app.config["RATELIMIT_ENABLED"]:
            return None
        worst: Limited | None = None
        for by, item, key in self._keys(action, account):
            until = self._until(_LOCK, f"{key}:lock") or self._until(item, key)
            if until is not None:
                wait = max(1, math.ceil(until - time.time()))
                if worst is None or wait > worst.retry_after:
                    worst = Limited(wait, by)
        return worst

    def count(self, action: str, account: str | None = None) -> Count:
        """Count one try that counts (a failed login; for signups, a completed one).

        The try that uses a rule's last one locks that rule for its whole period from
        now; its counter starts again for when the lock ends.
        """
        counts: list[Count] = []
        for by, item, key in self._keys(action, account):
            period = item.get_expiry()
            if not current_app.config["RATELIMIT_ENABLED"]:
                counts.append(Count(item.amount, item.amount, by, period))
                continue
            left = self._remaining(item, key)
            locked = None
            if left <= 0:
                self._lock(item, key)
                locked = Limited(period, by)
            counts.append(Count(left, item.amount, by, period, locked))
        if not counts:
            raise ValueError(f"no rule of {action!r} applies without an account")
        lock = max((c for c in counts if c.locked), key=lambda c: c.lock_seconds, default=None)
        # The lock, else the rule closest to locking among those worth a warning (an
        # address that guessed many accounts warns before a fresh account would).
        closest = [c for c in counts if c.warn] or counts
        return lock or min(closest, key=lambda c: (c.remaining, c.by != "account"))

    def reset(self, action: str, account: str) -> None:
        """Forget an account's failed tries, and its lock, once it succeeds."""
        for by, item, key in self._keys(action, account):
            if by != "account":
                continue
            for each_item, each_key in ((item, key), (_LOCK, f"{key}:lock")):
                for limiter in (self.redis, self.memory):
                    try:
                        limiter.clear(each_item, each_key)
                    except Exception:
                        log.warning("could not clear rate-limit counter %s", each_key)


def limiter() -> Limiter:
    return current_app.extensions["limiter"]


def init_app(app: Flask) -> None:
    app.extensions["limiter"] = Limiter(app)
