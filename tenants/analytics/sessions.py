"""Drain a shop's queue of visits (`visits`) into its hour counters, making sessions.

The storefront only queues visits, so that counting stays off the page's path; this
works out, visit by visit in arrival order, what the Lua used to do per page: a new
daily visitor, a new session (the same visitor after 30 idle minutes), its source,
device and landing page, page views per path and product, and the funnel steps each
session reached once. Keys, all under `t:<shop id>:a:`:

* `h:<YYYYMMDDHH>` -- the UTC hour's counters (a hash, kept 3 days): `pv`, `visitors`
  (new daily visitors: summable), `sessions`, `f:<step>` (sessions that reached a funnel
  step), and `<dimension>:<value>` (`visits.DIMENSIONS`). Dimension fields stop growing
  once the hour holds `FIELD_LIMIT` fields, so a crawler of random URLs cannot blow
  memory. The rollup folds them into the shop's daily tables (`rollup`).
* `hours` -- the hour buckets the rollup has still to fold.
* `v:<YYYYMMDD>` -- the UTC day's HyperLogLog of visitors.
* `c:<YYYYMMDDHH>` -- the ids of the shop's customers who browsed signed in that hour
  (a set: "active customers" are those who visited or bought).
* `vs:<YYYYMMDD>` -- the day's visitors and their sessions, `<last seen>:<steps>` (a
  visitor id lives one day, since its salt does; kept 2 days).
* `drain` -- the lock: one drain per shop at a time.

Exactly once: a batch's counters, states and the LTRIM that takes it off the queue go
in one MULTI/EXEC, which Redis applies whole or not at all, and only while this drain
still holds the lock (WATCH): a worker killed halfway, or a lock that timed out under a
slow drain, never counts a visit twice.

Runs from the rollup (`flask tenants sweep`, every few minutes) and before a report
reads today's live hours.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from redis.exceptions import WatchError

from saas.cache import redis_client
from tenants.analytics import buffer, visits
from tenants.analytics.visits import DIRECT, FIELD_LIMIT, HOUR_TTL, SESSION_SECONDS

BATCH = 5_000
LOCK_MS = 60_000
DAY_TTL = 2 * 24 * 3600
_STEP_LETTERS = {"product": "p", "cart": "c", "checkout": "k", "order": "o"}
_FIXED = frozenset(("pv", "visitors", "sessions", *(f"f:{s}" for s in visits.STEPS)))
# Deletes the lock only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


@dataclass
class _Batch:
    """What one batch of visits adds, before it is written."""

    counts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    states: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    new_visitors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    customers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def bump(self, hour: str, name: str, by: int = 1) -> None:
        fields = self.counts[hour]
        fields[name] = fields.get(name, 0) + by


def _parse(raw: Iterable[bytes | str]) -> list[list[str]]:
    width = len(visits.RECORD)
    records = []
    for line in raw:
        fields = _text(line).split("\t")
        if len(fields) == width and fields[1].isdigit():
            records.append(fields)
    return records


def _tally(redis: Any, key: str, records: list[list[str]]) -> _Batch:
    """Sessions and counters of `records` (oldest first), from the states Redis holds."""
    batch = _Batch()
    wanted: dict[str, set[str]] = defaultdict(set)
    for record in records:
        wanted[visits.day_bucket(int(record[1]))].add(record[0])
    known: dict[str, dict[str, str]] = {}
    for day, visitors in wanted.items():
        names = sorted(visitors)
        values = redis.hmget(f"{key}vs:{day}", names)
        known[day] = {n: _text(v) for n, v in zip(names, values, strict=True) if v is not None}
    for visitor, at_text, page, step, path, product, referrer, *rest in records:
        *utm, device, customer = rest
        at = int(at_text)
        day, hour = visits.day_bucket(at), visits.hour_bucket(at)
        if customer.isdigit():
            batch.customers[hour].add(customer)
        state = batch.states[day].get(visitor) or known[day].get(visitor)
        steps = ""
        if state is None:
            batch.bump(hour, "visitors")
            batch.new_visitors[day].append(visitor)
        else:
            last, _, steps = state.partition(":")
            if at - int(last) <= SESSION_SECONDS:
                at = max(at, int(last))
            else:
                state = None  # 30 idle minutes: a new session
                steps = ""
        if state is None:
            batch.bump(hour, "sessions")
            batch.bump(hour, "referrer:" + (referrer or DIRECT))
            for name, value in zip(("utm_source", "utm_medium", "utm_campaign"), utm, strict=True):
                if value:
                    batch.bump(hour, f"{name}:{value}")
            batch.bump(hour, "device:" + device)
            if page == "1":
                batch.bump(hour, "landing:" + path)
        reached = [step] if step in _STEP_LETTERS else []
        if page == "1":
            batch.bump(hour, "pv")
            batch.bump(hour, "path:" + path)
            if product:
                batch.bump(hour, "product:" + product)
                reached.insert(0, "product")
        for name in reached:
            letter = _STEP_LETTERS[name]
            if letter not in steps:
                steps += letter
                batch.bump(hour, "f:" + name)
        batch.states[day][visitor] = f"{at}:{steps}"
    return batch


def _within_limit(redis: Any, key: str, batch: _Batch) -> None:
    """Drop the new dimension fields an hour has no room for (`FIELD_LIMIT`)."""
    hours = sorted(batch.counts)
    lengths = dict(zip(hours, (redis.hlen(f"{key}h:{h}") for h in hours), strict=True))
    for hour in hours:
        fields = batch.counts[hour]
        if lengths[hour] + len(fields) <= FIELD_LIMIT:
            continue
        existing = {_text(f) for f in redis.hkeys(f"{key}h:{hour}")}
        fixed = [name for name in fields if name in _FIXED and name not in existing]
        room = FIELD_LIMIT - len(existing) - len(fixed)  # the totals always get in
        kept: dict[str, int] = {}
        for name, count in fields.items():  # in the order the visits came
            if name in existing or name in _FIXED:
                kept[name] = count
            elif room > 0:
                kept[name] = count
                room -= 1
        batch.counts[hour] = kept


def drain(tenant_id: int, limit: int | None = None) -> int:
    """Fold the shop's queued visits into its hour counters; how many were drained.
    This process's waiting visits are queued first (the other processes' follow within
    `buffer.INTERVAL`). Returns 0 at once if another drain of the shop is running."""
    if (waiting := buffer.of(current_app)) is not None:
        waiting.flush()
    redis = redis_client()
    key = visits.prefix(tenant_id)
    queue, lock = visits.queue_key(tenant_id), f"{key}drain"
    token = secrets.token_hex(8)
    if not redis.set(lock, token, nx=True, px=LOCK_MS):
        return 0
    drained = 0
    try:
        while limit is None or drained < limit:
            size = BATCH if limit is None else min(BATCH, limit - drained)
            raw = redis.lrange(queue, 0, size - 1)
            if not raw:
                break
            batch = _tally(redis, key, _parse(raw))
            _within_limit(redis, key, batch)
            if not _write(redis, key, queue, (lock, token), batch, taken=len(raw)):
                break  # the lock was lost: whoever holds it now goes on
            drained += len(raw)
    finally:
        redis.register_script(_RELEASE)(keys=[lock], args=[token])
    return drained


def _write(
    redis: Any, key: str, queue: str, held: tuple[str, str], batch: _Batch, *, taken: int
) -> bool:
    lock, token = held
    with redis.pipeline() as pipe:
        try:
            pipe.watch(lock)
            if _text(pipe.get(lock) or b"") != token:
                return False
            pipe.multi()
            for hour, fields in batch.counts.items():
                for name, count in fields.items():
                    pipe.hincrby(f"{key}h:{hour}", name, count)
                pipe.expire(f"{key}h:{hour}", HOUR_TTL)
            for hour, ids in batch.customers.items():
                pipe.sadd(f"{key}c:{hour}", *ids)
                pipe.expire(f"{key}c:{hour}", HOUR_TTL)
            if hours := {*batch.counts, *batch.customers}:
                pipe.sadd(f"{key}hours", *hours)
                pipe.expire(f"{key}hours", HOUR_TTL)
            for day, states in batch.states.items():
                pipe.hset(f"{key}vs:{day}", mapping=states)
                pipe.expire(f"{key}vs:{day}", DAY_TTL)
            for day, visitors in batch.new_visitors.items():
                pipe.pfadd(f"{key}v:{day}", *visitors)
                pipe.expire(f"{key}v:{day}", HOUR_TTL)
            pipe.ltrim(queue, taken, -1)
            pipe.expire(queue, HOUR_TTL)
            pipe.pexpire(lock, LOCK_MS)
            pipe.execute()
        except WatchError:
            return False
    return True
