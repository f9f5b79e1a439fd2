"""Rate limits for login, signup and password reset.

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
from dataclasses import dataclass

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

from saas.tenancy import get_current_tenant

log = logging.getLogger(__name__)

# Rules per action: (what to count by, limit). Several rules apply to one attempt.
RULES: dict[str, list[tuple[str, str]]] = {
    "login": [("ip", "20/15 minutes"), ("account", "8/15 minutes")],
    "totp": [("ip", "20/15 minutes"), ("account", "6/15 minutes")],
    "signup": [("ip", "10/hour")],
    "reset": [("ip", "10/hour"), ("account", "3/hour")],
    "invite": [("account", "30/hour")],
    "storefront-password": [("ip", "20/15 minutes")],
    "newsletter": [("ip", "10/hour")],  # storefront signups: keeps bots from filling the list
    # Shoppers' accounts on a storefront: counted apart from staff logins on the same host.
    "customer-login": [("ip", "20/15 minutes"), ("account", "8/15 minutes")],
    "customer-register": [("ip", "10/hour")],
    "customer-reset": [("ip", "10/hour"), ("account", "3/hour")],
    # Guest order lookup by number and email; "account" is the order number, so nobody
    # can walk through the emails that might go with one order.
    "order-lookup": [("ip", "20/15 minutes"), ("account", "5/15 minutes")],
    # Guessing discount codes, and bots making a cart on every add.
    "discount-code": [("ip", "30/15 minutes")],
    "cart-add": [("ip", "300/hour")],
}


@dataclass(frozen=True)
class Limited:
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many attempts. Please wait {minutes} {unit} and try again."


class Limiter:
    def __init__(self, app: Flask) -> None:
        pool = app.extensions["redis"].connection_pool
        self.redis = FixedWindowRateLimiter(
            RedisStorage("redis://", connection_pool=pool, key_prefix="platform:ratelimit")
        )
        self.memory = FixedWindowRateLimiter(MemoryStorage())

    def _hit(self, item: RateLimitItem, key: str) -> tuple[bool, float]:
        for limiter in (self.redis, self.memory):
            try:
                allowed = limiter.hit(item, key)
                reset = limiter.get_window_stats(item, key).reset_time
                return allowed, reset
            except Exception:
                if limiter is self.memory:
                    raise
                log.warning("rate-limit store unavailable; counting in this process")
        raise AssertionError("unreachable")

    def hit(self, action: str, account: str | None = None) -> Limited | None:
        """Count one attempt at `action`; return `Limited` if it is over any rule."""
        if not current_app.config["RATELIMIT_ENABLED"]:
            return None
        tenant = get_current_tenant()
        scope = f"t:{tenant.id}" if tenant else "platform"
        worst: float = 0
        for by, rule in RULES[action]:
            if by == "account" and not account:
                continue
            who = (account or "").strip().lower() if by == "account" else request.remote_addr
            key = f"{scope}:{action}:{by}:{who}"
            allowed, reset = self._hit(parse(rule), key)
            if not allowed:
                worst = max(worst, reset - time.time())
        return Limited(max(1, int(worst))) if worst else None

    def reset(self, action: str, account: str) -> None:
        """Forget failed attempts for an account once it succeeds."""
        tenant = get_current_tenant()
        scope = f"t:{tenant.id}" if tenant else "platform"
        for by, rule in RULES[action]:
            if by == "account":
                key = f"{scope}:{action}:account:{account.strip().lower()}"
                for limiter in (self.redis, self.memory):
                    try:
                        limiter.clear(parse(rule), key)
                    except Exception:
                        log.warning("could not clear rate-limit counter %s", key)


def limiter() -> Limiter:
    return current_app.extensions["limiter"]


def init_app(app: Flask) -> None:
    app.extensions["limiter"] = Limiter(app)
