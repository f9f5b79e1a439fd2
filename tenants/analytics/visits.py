"""Visit counting without cookies: page views, visitors, sessions and funnel steps.

A visitor is a hash of a random salt of the UTC day, the shop, the IP address and the
user agent (Plausible's scheme): no cookie, nothing that outlives the day, no raw IP kept
(not even in logs): the visitor is the first 16 hex of sha256(salt|IP|user agent|shop).

A page only hands its visit to the process's buffer (`tenants.analytics.buffer`), from
both counting paths (FrontCache before Flask, the storefront's after-request hook); the
buffer's thread hashes and queues visits in batches, so they always agree on a visitor.
A queued visit is one tab-separated line (`RECORD`) in the shop's queue
`t:<shop id>:a:q`. Working out sessions, first visits and funnel steps is left to
`tenants.analytics.sessions`, which drains the queue in batches into the hour counters:
doing it per page, in Lua, cost about 15 % of a cached page's throughput, queueing from
the page itself about 10 %, the buffer under 5 % (see `bench/storefront.py`).
Everything sits under `t:<shop id>:a:` (isolation by key):

* `q` -- visits not drained yet (at most `QUEUE_LIMIT`; past that, visits are dropped).
* `cfg` -- what the counting needs of the shop's settings (the privacy switch), written
  when they are saved, so no counting path reads PostgreSQL.
* the hour counters, day visitors and sessions the queue is drained into (`sessions`).

Not counted: bots and empty user agents, prefetches, anything but GET, pages other than
200 HTML, the shop's staff, and -- if the merchant turned the switch on -- requests with
`DNT: 1` or `Sec-GPC: 1`. Since the salt changes at midnight UTC, a session (and a daily
visitor) also ends there.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import user_agents
from flask import current_app, g, request
from flask_login import current_user

from saas.auth import current_customer, is_shop_staff
from saas.cache import redis_client
from saas.db import after_commit, db
from saas.tenancy import current_tenant
from tenants.settings.services import get_settings

SESSION_SECONDS = 30 * 60
HOUR_TTL = 3 * 24 * 3600  # the rollup runs every few minutes; this only bounds a backlog
QUEUE_LIMIT = 200_000  # visits waiting per shop (about 30 MB): a flood cannot fill Redis
FIELD_LIMIT = 2000
VALUE_MAX = 200
STEPS = ("product", "cart", "checkout", "order")
DIMENSIONS = (
    "path",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "device",
    "landing",
    "product",
)
DIRECT = "(direct)"  # the referrer of a session that came with none (or from the shop)
# A queued visit's fields, tab-separated; the Lua puts the visitor first.
RECORD = (
    "visitor",  # sha256(day's salt|ip|user agent|shop id), 16 hex
    "at",  # seconds since the epoch
    "page",  # '1': a page view; '0': a funnel step only (a POST)
    "step",  # a funnel step, or ''
    "path",
    "product",  # a product page's handle, or ''
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "device",
    "customer",  # the id of the shop's customer signed in, or '' (the front cache: always)
)
_SALT_KEY = "platform:analytics-salt:"
_UTM = ("utm_source", "utm_medium", "utm_campaign")

# The clock, as seconds since the epoch (tests move it).
clock: Callable[[], float] = time.time


def prefix(tenant_id: int) -> str:
    return f"t:{int(tenant_id)}:a:"


def config_key(tenant_id: int) -> str:
    return f"{prefix(tenant_id)}cfg"


def queue_key(tenant_id: int) -> str:
    return f"{prefix(tenant_id)}q"


# --- the Lua -------------------------------------------------------------------------------


def lua_count() -> str:
    """Lua queueing visits given as pairs of ARGV: a shop's id, then its visits' lines
    (`visit_line`) joined by newlines. A line's first byte says whether the request asked
    not to be tracked: such visits are dropped if the shop honours that (its `cfg`, read
    once per shop). One argument per shop, not per visit: encoding arguments was most of
    a flush's cost."""
    return f"""
for a = 1, #ARGV, 2 do
  local p = 't:' .. ARGV[a] .. ':a:'
  local private = redis.call('HGET', p .. 'cfg', 'privacy') == '1'
  local lines = {{}}
  for line in string.gmatch(ARGV[a + 1], '[^\\n]+') do
    if not (private and string.byte(line, 1) == 49) then
      lines[#lines + 1] = string.sub(line, 2)
    end
  end
  if #lines > 0 then
    local q = p .. 'q'
    local size = redis.call('RPUSH', q, unpack(lines))
    if size == #lines then
      redis.call('EXPIRE', q, {HOUR_TTL})
    elseif size > {QUEUE_LIMIT} then
      redis.call('LTRIM', q, 0, {QUEUE_LIMIT - 1})
    end
  end
end
"""


# --- what a request says ---------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def agent(ua: str) -> str | None:
    """The device class of a user agent, or None for a bot (an empty one is a bot too)."""
    if not ua:
        return None
    parsed = user_agents.parse(ua)
    if parsed.is_bot:
        return None
    if parsed.is_tablet:
        return "tablet"
    if parsed.is_mobile:
        return "mobile"
    return "desktop"


@functools.lru_cache(maxsize=4)
def _hour_of(epoch_hour: int) -> str:
    return time.strftime("%Y%m%d%H", time.gmtime(epoch_hour * 3600))


@functools.lru_cache(maxsize=4)
def _day_of(epoch_day: int) -> str:
    return time.strftime("%Y%m%d", time.gmtime(epoch_day * 86400))


def hour_bucket(now: float | None = None) -> str:
    """The UTC hour `now` falls in, as `YYYYMMDDHH`."""
    return _hour_of(int((clock() if now is None else now) // 3600))


def day_bucket(now: float) -> str:
    """The UTC day `now` falls in, as `YYYYMMDD`."""
    return _day_of(int(now // 86400))


_salts: dict[str, str] = {}


def daily_salt(redis: Any, day: str) -> str:
    """The random salt of a UTC day (`YYYYMMDD`), shared by every process through Redis
    and gone two days later: yesterday's visitors can never be linked to today's."""
    salt = _salts.get(day)
    if salt is None:
        key = _SALT_KEY + day
        redis.set(key, secrets.token_hex(16), nx=True, ex=2 * 24 * 3600)
        raw = redis.get(key)
        salt = raw.decode() if isinstance(raw, bytes) else str(raw)
        _salts.clear()  # one day at a time
        _salts[day] = salt
    return salt


@functools.lru_cache(maxsize=4096)
def _domain(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def product_handle(path: str) -> str:
    """The handle of a product page's path (`/products/<handle>`), or ''."""
    if path.startswith("/products/"):
        handle = path[10:]
        if handle and "/" not in handle:
            return handle[:VALUE_MAX]
    return ""


def _clean(value: str) -> str:
    value = value[:VALUE_MAX]
    return value.replace("\t", " ") if "\t" in value else value


# What a visit needs of its request's WSGI environ, read at the page in this order by one
# C-level map() (`tenants.analytics.buffer`): the rest waits for the buffer's thread.
ENVIRON_KEYS = (
    "HTTP_USER_AGENT",
    "REMOTE_ADDR",
    "PATH_INFO",
    "HTTP_REFERER",
    "HTTP_HOST",
    "QUERY_STRING",
    "HTTP_DNT",
    "HTTP_SEC_GPC",
    "HTTP_SEC_PURPOSE",
    "HTTP_PURPOSE",
    "HTTP_X_MOZ",
)


def visit_line(
    tenant_id: int,
    request: tuple[str | None, ...],
    redis: Any,
    *,
    now: int,
    step: str = "",
    page: bool = True,
    customer: int | None = None,
) -> str | None:
    """A visit as the script takes it (`lua_count`): '1' if the request asked not to be
    tracked (DNT, Global Privacy Control), else '0', then its queued line (`RECORD`).
    None for what is never counted: a bot (or no user agent) and a prefetch. `request`
    holds the environ's `ENVIRON_KEYS` values."""
    ua, ip, path, raw_referrer, host, query, dnt, gpc, purpose, old_purpose, moz = request
    device = agent(ua or "")
    if device is None:
        return None
    if "prefetch" in (purpose or old_purpose or "").lower() or (moz or "").lower() == "prefetch":
        return None
    visitor = _visitor(daily_salt(redis, day_bucket(now)), ip or "", ua or "", int(tenant_id))
    path = path or "/"
    referrer = ""
    if raw_referrer:
        referrer = _domain(raw_referrer)
        if referrer == _domain("//" + (host or "")):
            referrer = ""  # from the shop itself: direct (a session that timed out)
    utm = ("", "", "")
    if query and "utm_" in query:
        values = dict(parse_qsl(query))
        utm = tuple(_clean(values.get(name, "")) for name in _UTM)  # type: ignore[assignment]
    line = "\t".join(
        (
            ("1" if dnt == "1" or gpc == "1" else "0") + visitor,
            str(now),
            "1" if page else "0",
            step,
            _clean(path),
            _clean(product_handle(path)) if page else "",
            referrer[:VALUE_MAX],
            *utm,
            device,
            "" if customer is None else str(int(customer)),
        )
    )
    # Lines travel joined by newlines (`lua_count`); a decoded path may hold one.
    return line.replace("\n", " ") if "\n" in line else line


@functools.lru_cache(maxsize=8192)  # a visitor's next pages skip the hash
def _visitor(salt: str, ip: str, ua: str, tenant_id: int) -> str:
    return hashlib.sha256(f"{salt}|{ip}|{ua}|{tenant_id}".encode()).hexdigest()[:16]


# --- Flask's path ----------------------------------------------------------------------------

_FLASK_STEP = "analytics_step"


def funnel_step(step: str) -> None:
    """Note that this request took the visitor's session to a funnel step (`STEPS`);
    counted with the request (`count_request`), once per session."""
    if step not in STEPS:
        raise ValueError(f"unknown funnel step {step!r}")
    setattr(g, _FLASK_STEP, step)


def count_request(response: Any) -> None:
    """After a storefront view: keep its page view and/or funnel step for the buffer.
    The shop's staff (or an operator) signed in on this host are never counted."""
    visit_buffer = current_app.extensions.get("visit_buffer")  # see tenants.analytics.buffer
    if visit_buffer is None or not current_app.config.get("ANALYTICS_ENABLED", True):
        return
    step = g.get(_FLASK_STEP, "")
    page = (
        request.method == "GET"
        and response.status_code in (200, 304)
        and response.mimetype == "text/html"
        and current_tenant.launched
    )
    if not (page or step) or is_shop_staff(current_user):
        return
    customer = current_customer()
    visit_buffer.add(
        current_tenant.id,
        request.environ,
        step=step,
        page=page,
        customer=customer.id if customer is not None else None,
    )


# --- the merchant's privacy switch -----------------------------------------------------------


@dataclass(frozen=True)
class Config:
    respect_privacy_signals: bool


def write_config(tenant_id: int, config: Config) -> None:
    """Put what counting needs of the settings where the Lua reads it."""
    redis_client().hset(
        config_key(tenant_id), "privacy", "1" if config.respect_privacy_signals else "0"
    )


def set_respect_privacy_signals(on: bool) -> bool:
    """The merchant's switch: ignore visits that send DNT or Global Privacy Control.
    Flushes; Redis follows once the unit commits. Returns whether it changed."""
    settings = get_settings()
    if settings.respect_privacy_signals == on:
        return False
    settings.respect_privacy_signals = on
    db.session.flush()
    tenant_id = current_tenant.id
    after_commit(lambda: write_config(tenant_id, Config(on)))
    return True
