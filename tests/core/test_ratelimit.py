"""The limiter's counting of failed tries: what is left, the lock, when it lifts, whose
count it is (an account, an address, a shop), and that Redis going away keeps it."""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from redis import Redis

from saas.ratelimit import RULES, Limiter, duration
from saas.tenancy import tenant_context

ACTION = "test-login"


@pytest.fixture
def rules(monkeypatch):
    """A login-like action of its own, so counts from other tests never meet these."""

    def use(*rules: tuple[str, str]) -> None:
        monkeypatch.setitem(RULES, ACTION, list(rules))

    use(("ip", "5/15 minutes"), ("account", "4/15 minutes"))
    return use


@pytest.fixture
def limiter(app):
    return Limiter(app)


@contextmanager
def request_from(app, ip=None, tenant=None):
    ip = ip or f"10.77.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": ip}):
        if tenant is None:
            yield
        else:
            with tenant_context(tenant):
                yield


def email() -> str:
    return f"who-{uuid.uuid4().hex[:8]}@example.com"


def test_duration_reads_as_people_say_it():
    assert [duration(s) for s in (1, 59, 60, 61, 720, 900, 3540, 3600, 3601)] == [
        "1 minute",
        "1 minute",
        "1 minute",
        "2 minutes",
        "12 minutes",
        "15 minutes",
        "59 minutes",
        "1 hour",
        "2 hours",
    ]


def test_counts_down_warns_from_half_and_locks_on_the_last_try(app, rules, limiter):
    who = email()
    with request_from(app):
        assert limiter.locked(ACTION, who) is None
        counts = [limiter.count(ACTION, who) for _ in range(4)]
        assert [c.remaining for c in counts[:3]] == [3, 2, 1]
        assert [c.by for c in counts[:3]] == ["account"] * 3
        # No countdown after one slip; from half the tries on, it is said.
        assert counts[0].note == ""
        assert counts[1].note == "2 tries left before this account is locked for 15 minutes."
        assert counts[2].note == "1 try left before this account is locked for 15 minutes."
        assert counts[2].after("Wrong.") == f"Wrong. {counts[2].note}"
        last = counts[3]
        assert last.locked is not None and last.locked.by == "account"
        assert last.note == "Too many failed tries for this account. Try again in 15 minutes."

        locked = limiter.locked(ACTION, who)
        assert locked is not None and locked.by == "account"
        assert 14 * 60 < locked.retry_after <= 15 * 60
        assert locked.wait == "Try again in 15 minutes."


def test_the_lock_lasts_its_period_then_the_tries_start_again(app, rules, limiter):
    rules(("account", "2/2 seconds"))
    who = email()
    with request_from(app):
        limiter.count(ACTION, who)
        assert limiter.count(ACTION, who).locked is not None
        assert 1 <= limiter.locked(ACTION, who).retry_after <= 2
        time.sleep(2.2)
        assert limiter.locked(ACTION, who) is None
        assert limiter.count(ACTION, who).remaining == 1  # a fresh count, not the old one


def test_account_and_address_are_counted_apart(app, rules, limiter):
    ip = "10.66.1.1"
    who = email()
    with request_from(app, ip):
        for _ in range(3):
            limiter.count(ACTION, who)
    # The same account from elsewhere has one try left; a new address has its five.
    with request_from(app, "10.66.1.2"):
        count = limiter.count(ACTION, who)
        assert count.locked is not None and count.by == "account"
    with request_from(app, "10.66.1.3"):
        assert limiter.locked(ACTION, who).by == "account"  # locked from everywhere
        assert limiter.locked(ACTION, email()) is None
    # Guessing other accounts from one address locks the address, not those accounts.
    with request_from(app, ip):
        count = limiter.count(ACTION, email())
        assert (count.by, count.remaining) == ("ip", 1)
        assert count.note == "1 try left before tries from your network are paused for 15 minutes."
        count = limiter.count(ACTION, email())
        assert count.locked is not None and count.by == "ip"
        assert count.note == "Too many failed tries from your network. Try again in 15 minutes."
        assert limiter.locked(ACTION, email()).by == "ip"
    with request_from(app, "10.66.1.4"):
        assert limiter.locked(ACTION, email()) is None


def test_without_an_account_only_the_address_counts(app, rules, limiter):
    with request_from(app):
        count = limiter.count(ACTION)
        assert (count.by, count.remaining) == ("ip", 4)


def test_a_success_forgets_the_account_not_the_address(app, rules, limiter):
    who = email()
    with request_from(app, "10.66.2.1"):
        for _ in range(3):
            limiter.count(ACTION, who)
        limiter.reset(ACTION, who)
        assert limiter.locked(ACTION, who) is None
    with request_from(app, "10.66.2.2"):
        assert limiter.count(ACTION, who).remaining == 3  # the account starts again
    # The address keeps its count: one account of one's own must not wipe the guesses.
    with request_from(app, "10.66.2.1"):
        count = limiter.count(ACTION, email())
        assert (count.by, count.remaining) == ("ip", 1)


def test_reset_lifts_an_accounts_lock(app, rules, limiter):
    rules(("account", "2/15 minutes"))
    who = email()
    with request_from(app):
        limiter.count(ACTION, who)
        limiter.count(ACTION, who)
        assert limiter.locked(ACTION, who) is not None
        limiter.reset(ACTION, who)  # a password reset: the person proved who they are
        assert limiter.locked(ACTION, who) is None


def test_one_shops_count_never_locks_another_shop(app, rules, limiter, make_tenant):
    shop_a, shop_b = make_tenant(), make_tenant()
    who = email()
    with request_from(app, "10.66.3.1", shop_a):
        for _ in range(4):
            limiter.count(ACTION, who)
        assert limiter.locked(ACTION, who) is not None
    with request_from(app, "10.66.3.1", shop_b):
        assert limiter.locked(ACTION, who) is None
        assert limiter.count(ACTION, who).remaining == 3
    with request_from(app, "10.66.3.1"):  # the platform's own doors
        assert limiter.locked(ACTION, who) is None


def test_counts_and_locks_without_redis(app, rules):
    dead = SimpleNamespace(extensions={"redis": Redis.from_url("redis://127.0.0.1:1/0")})
    limiter = Limiter(dead)
    who = email()
    with request_from(app):
        assert [limiter.count(ACTION, who).remaining for _ in range(3)] == [3, 2, 1]
        assert limiter.count(ACTION, who).locked is not None
        assert limiter.locked(ACTION, who).by == "account"
        limiter.reset(ACTION, who)
        assert limiter.locked(ACTION, who) is None


def test_nothing_counts_when_limits_are_off(app, rules, limiter, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", False)
    who = email()
    with request_from(app):
        for _ in range(10):
            assert limiter.count(ACTION, who).note == ""
        assert limiter.locked(ACTION, who) is None
