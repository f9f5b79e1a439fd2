"""Visit counting without cookies (FrontCache and Flask), the queue drained into sessions
and hour counters, the funnel, the hourly rollup into shop-local days, and the traffic
reports read from the rolled-up tables."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from saas.cache import redis_client
from saas.db import db
from saas.tenancy import tenant_context
from tenants.analytics import buffer, rollup, sessions, traffic, visits
from tenants.analytics.models import AnalyticsDay, AnalyticsDayCount, AnalyticsFoldedHour
from tenants.settings.models import ShopSettings
from tests.backoffice.test_backoffice import settings_form
from tests.checkout.test_checkout import ADDRESS, add_to_cart, open_shop, total_on
from tests.shop.test_page_cache import flask_calls

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
# 2026-03-10 15:20 UTC: 00:20 on 11 March in Tokyo.
NOW = datetime(2026, 3, 10, 15, 20, tzinfo=UTC).timestamp()
HOUR = "2026031015"


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """A fixed clock: every visit of a test falls in `HOUR` unless the test moves it."""
    now = [NOW]
    monkeypatch.setattr(visits, "clock", lambda: now[0])
    return now


def browse(client, path="/", ua=BROWSER, ip="203.0.113.5", **headers):
    return client.get(path, headers={"User-Agent": ua, **headers}, environ_base={"REMOTE_ADDR": ip})


def hour(app, tenant, bucket=HOUR) -> dict[str, int]:
    """The hour's counters, once the shop's queued visits are drained."""
    with app.app_context():
        sessions.drain(tenant.id)
        raw = redis_client().hgetall(f"t:{tenant.id}:a:h:{bucket}")
    return {k.decode(): int(v) for k, v in raw.items()}


def analytics_keys(app, tenant) -> list[bytes]:
    buffer.of(app).flush()
    with app.app_context():
        return sorted(redis_client().scan_iter(f"t:{tenant.id}:a:*"))


def queued(app, tenant) -> int:
    """The shop's visits queued in Redis, once this process's buffer is flushed."""
    buffer.of(app).flush()
    with app.app_context():
        return redis_client().llen(visits.queue_key(tenant.id))


def test_pages_are_counted_through_flask_and_the_front_cache(app, make_tenant, shop_client):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    assert browse(client, "/", referer="https://www.google.com/search?q=tea").status_code == 200
    with flask_calls(app) as calls:
        assert browse(client, "/").status_code == 200  # a front-cache hit
        assert browse(client, "/").status_code == 200
    assert calls == []
    assert queued(app, shop) == 3  # the pages only queued their visits
    counters = hour(app, shop)
    assert queued(app, shop) == 0
    assert counters == {
        "pv": 3,
        "visitors": 1,
        "sessions": 1,
        "path:/": 3,
        "referrer:google.com": 1,
        "device:desktop": 1,
        "landing:/": 1,
    }
    with app.app_context():
        assert redis_client().smembers(f"t:{shop.id}:a:hours") == {HOUR.encode()}
        assert redis_client().pfcount(f"t:{shop.id}:a:v:20260310") == 1


def test_a_new_visitor_and_utm_and_devices(app, make_tenant, shop_client):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    browse(client, "/?utm_source=news&utm_medium=email&utm_campaign=spring", ua=PHONE)
    browse(client, "/", ip="198.51.100.7")  # another visitor (address), from the cache
    counters = hour(app, shop)
    assert counters["visitors"] == 2 and counters["sessions"] == 2 and counters["pv"] == 2
    assert counters["device:mobile"] == 1 and counters["device:desktop"] == 1
    assert counters["utm_source:news"] == 1
    assert counters["utm_medium:email"] == 1
    assert counters["utm_campaign:spring"] == 1
    assert counters["referrer:(direct)"] == 2


def test_bots_prefetches_heads_staff_and_files_are_not_counted(
    app, make_tenant, shop_client, staff_client
):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    client.get("/", headers={"User-Agent": BROWSER}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    with app.app_context():  # that first page was counted; start from nothing
        redis_client().delete(*analytics_keys(app, shop))
    for _ in range(2):  # through Flask, then from the front cache
        browse(client, "/", ua=GOOGLEBOT)
        browse(client, "/", ua="")
        browse(client, "/", **{"Sec-Purpose": "prefetch;prerender"})
        browse(client, "/", Purpose="prefetch")
        browse(client, "/", **{"X-Moz": "prefetch"})
        client.head("/", headers={"User-Agent": BROWSER})
    browse(client, "/robots.txt")
    browse(client, "/products/no-such-thing")  # a 404
    staff = staff_client(shop)
    assert browse(staff, "/").status_code == 200
    assert browse(staff, "/products/teapot").status_code == 200
    assert analytics_keys(app, shop) == []


def test_do_not_track_is_respected_only_when_the_merchant_asks(app, make_tenant, shop_client):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    browse(client, "/", DNT="1")  # switch off: counted
    assert hour(app, shop)["pv"] == 1
    with app.app_context(), tenant_context(shop):
        assert visits.set_respect_privacy_signals(True) is True
        assert visits.set_respect_privacy_signals(True) is False
    for _ in range(2):  # the cache may have been dropped by the settings change
        browse(client, "/", DNT="1")
        browse(client, "/", **{"Sec-GPC": "1"})
        browse(client, "/products/teapot", DNT="1")
    assert hour(app, shop)["pv"] == 1
    browse(client, "/")  # no signal: counted
    assert hour(app, shop)["pv"] == 2


def test_the_privacy_switch_is_a_setting(app, make_tenant, staff_client):
    shop = make_tenant()
    owner = staff_client(shop, role="owner")
    page = owner.get("/admin/settings")
    assert 'name="respect_privacy_signals"' in page.text
    saved = owner.post("/admin/settings", data=settings_form(respect_privacy_signals="1"))
    assert saved.status_code == 302
    with app.app_context():
        assert redis_client().hget(f"t:{shop.id}:a:cfg", "privacy") == b"1"
        with tenant_context(shop):
            assert db.session.get(ShopSettings, 1).respect_privacy_signals is True
    owner.post("/admin/settings", data=settings_form())  # unticked
    with app.app_context():
        assert redis_client().hget(f"t:{shop.id}:a:cfg", "privacy") == b"0"


def test_a_session_lasts_until_thirty_minutes_without_a_page(app, make_tenant, shop_client, clock):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    browse(client, "/")
    clock[0] += 29 * 60
    browse(client, "/products/teapot")
    assert hour(app, shop)["sessions"] == 1
    clock[0] += 31 * 60 - 1  # 16:19: a page 31 minutes after the last
    browse(client, "/products/teapot")
    counters = hour(app, shop, "2026031016")
    assert counters["sessions"] == 1 and "visitors" not in counters and counters["pv"] == 1
    assert counters["landing:/products/teapot"] == 1 and counters["f:product"] == 1
    counters = hour(app, shop)
    assert counters["sessions"] == 1 and counters["visitors"] == 1 and counters["pv"] == 2
    assert counters["landing:/"] == 1 and counters["f:product"] == 1  # once in each session
    with app.app_context():  # the day's visitors: one, no address or agent in sight
        [state] = redis_client().hvals(f"t:{shop.id}:a:vs:20260310")
    assert state.decode() == f"{int(clock[0])}:p"


def test_visits_drained_by_two_at_once_count_once(app, make_tenant, shop_client):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    for n in range(12):
        browse(client, "/", ip=f"198.51.100.{n}")
    with app.app_context():
        redis = redis_client()
        redis.set(f"t:{shop.id}:a:drain", "another drain")
        assert sessions.drain(shop.id) == 0  # someone else is at it: nothing twice
        redis.delete(f"t:{shop.id}:a:drain")
        assert sessions.drain(shop.id, limit=5) == 5
        assert sessions.drain(shop.id) == 7
    assert hour(app, shop)["pv"] == 12 and hour(app, shop)["visitors"] == 12


def test_a_drain_that_lost_its_lock_writes_nothing(app, make_tenant, shop_client, monkeypatch):
    shop = make_tenant(products=[("Teapot", 1500)])
    browse(shop_client(shop), "/")
    tally = sessions._tally

    def slow(redis, key, records):  # the lock timed out and another drain took it
        redis.set(f"t:{shop.id}:a:drain", "another drain")
        return tally(redis, key, records)

    monkeypatch.setattr(sessions, "_tally", slow)
    with app.app_context():
        assert sessions.drain(shop.id) == 0
    assert queued(app, shop) == 1
    with app.app_context():
        assert not redis_client().exists(f"t:{shop.id}:a:h:{HOUR}")
        redis_client().delete(f"t:{shop.id}:a:drain")
    monkeypatch.setattr(sessions, "_tally", tally)
    assert hour(app, shop)["pv"] == 1


def test_funnel_steps_count_once_per_session(app, make_tenant, shop_client, clock):
    shop = make_tenant()
    variant = open_shop(app, shop)
    with app.app_context(), tenant_context(shop):
        from tenants.catalog.models import ProductVariant

        handle = db.session.get(ProductVariant, variant).product.handle
    client = shop_client(shop)
    client.environ_base.update({"HTTP_USER_AGENT": BROWSER, "REMOTE_ADDR": "203.0.113.9"})
    assert client.get(f"/products/{handle}").status_code == 200
    assert client.get(f"/products/{handle}").status_code == 200
    add_to_cart(client, variant)
    add_to_cart(client, variant)
    assert client.get("/checkout").status_code == 200
    assert client.post("/checkout", data=ADDRESS).status_code == 302
    page = client.get("/checkout/shipping").text
    import re

    key = re.search(r'name="shipping" value="([^"]+)"', page).group(1)
    client.post("/checkout/shipping", data={"shipping": key})
    client.post("/checkout/payment", data={"payment": "bank_transfer"})
    review = client.get("/checkout/review").text
    placed = client.post("/checkout/review", data={"total": total_on(review)})
    assert placed.status_code == 302 and "/orders/" in placed.location
    counters = hour(app, shop)
    assert counters["sessions"] == 1
    assert (counters["f:product"], counters["f:cart"]) == (1, 1)
    assert (counters["f:checkout"], counters["f:order"]) == (1, 1)
    assert counters[f"product:{handle}"] == 2
    # A new session later: its own steps.
    clock[0] += 31 * 60
    add_to_cart(client, variant)
    counters = hour(app, shop)
    assert counters["sessions"] == 2 and counters["f:cart"] == 2 and counters["f:product"] == 1


def test_a_crawler_of_random_urls_cannot_grow_an_hour_forever(app, make_tenant):
    shop = make_tenant()
    key = f"t:{shop.id}:a:h:{HOUR}"
    with app.app_context():
        redis = redis_client()
        redis.hset(key, mapping={f"path:/x{n}": 1 for n in range(1990)})
        count = redis.register_script(visits.lua_count())
        # 1990 fields + visitors, sessions, referrer, device, landing, pv: room for 4 paths.
        for n in range(30):
            record = ["", str(int(NOW)), "1", "", f"/r{n}", "", "", "", "", "", "desktop", ""]
            count(args=[shop.id, "0" + "v" * 16 + "\t".join(record)])
    counters = hour(app, shop)
    assert len(counters) == visits.FIELD_LIMIT
    assert counters["pv"] == 30 and counters["path:/r3"] == 1 and "path:/r4" not in counters


def test_the_queue_is_bounded_and_a_bad_line_is_skipped(app, make_tenant, monkeypatch):
    shop = make_tenant()
    with app.app_context():
        redis = redis_client()
        monkeypatch.setattr(visits, "QUEUE_LIMIT", 3)
        count = redis.register_script(visits.lua_count())
        record = "\t".join(["", str(int(NOW)), "1", "", "/", "", "", "", "", "", "desktop", ""])
        for _ in range(5):
            count(args=[shop.id, "0" + "v" * 16 + record])
        assert redis.llen(visits.queue_key(shop.id)) == 3
        redis.rpush(visits.queue_key(shop.id), "not\ta visit")
    assert hour(app, shop)["pv"] == 3


# --- the rollup -----------------------------------------------------------------------------


def tokyo(app, tenant) -> None:
    with app.app_context(), tenant_context(tenant):
        db.session.get(ShopSettings, 1).timezone = "Asia/Tokyo"


def day_rows(app, tenant) -> list[tuple]:
    with app.app_context(), tenant_context(tenant):
        days = [
            (d.day, d.pageviews, d.visitors, d.sessions, d.product_sessions, d.cart_sessions)
            for d in db.session.scalars(select(AnalyticsDay).order_by(AnalyticsDay.day))
        ]
        counts = [
            (c.day, c.dimension, c.value, c.count)
            for c in db.session.scalars(
                select(AnalyticsDayCount).order_by(
                    AnalyticsDayCount.day, AnalyticsDayCount.dimension, AnalyticsDayCount.value
                )
            )
        ]
        return [*days, *counts]


def roll_up(app, tenant) -> int:
    with app.app_context(), tenant_context(tenant):
        return rollup.roll_up(tenant.id)


def test_rollup_folds_finished_hours_into_local_days_once(app, make_tenant, shop_client, clock):
    shop = make_tenant(products=[("Teapot", 1500)])
    tokyo(app, shop)
    client = shop_client(shop)
    clock[0] = datetime(2026, 3, 10, 14, 59, tzinfo=UTC).timestamp()  # 23:59 10 Mar, Tokyo
    browse(client, "/")
    clock[0] = NOW  # 15:20 UTC, 00:20 11 March in Tokyo
    browse(client, "/products/teapot", ip="198.51.100.1")
    browse(client, "/products/teapot", ip="198.51.100.1")
    assert roll_up(app, shop) == 1  # 14:00 folded; 15:00 is still being counted
    clock[0] = datetime(2026, 3, 10, 16, 5, tzinfo=UTC).timestamp()
    assert roll_up(app, shop) == 1
    expected = [
        (date(2026, 3, 10), 1, 1, 1, 0, 0),
        (date(2026, 3, 11), 2, 1, 1, 1, 0),
        (date(2026, 3, 10), "device", "desktop", 1),
        (date(2026, 3, 10), "landing", "/", 1),
        (date(2026, 3, 10), "path", "/", 1),
        (date(2026, 3, 10), "referrer", "(direct)", 1),
        (date(2026, 3, 11), "device", "desktop", 1),
        (date(2026, 3, 11), "landing", "/products/teapot", 1),
        (date(2026, 3, 11), "path", "/products/teapot", 2),
        (date(2026, 3, 11), "product", "teapot", 2),
        (date(2026, 3, 11), "referrer", "(direct)", 1),
    ]
    assert day_rows(app, shop) == expected
    assert not [k for k in analytics_keys(app, shop) if b":a:h:" in k]
    with app.app_context():
        assert redis_client().smembers(f"t:{shop.id}:a:hours") == set()
    assert roll_up(app, shop) == 0  # run twice: the same numbers
    assert day_rows(app, shop) == expected


def test_rollup_killed_before_deleting_redis_never_counts_twice(
    app, make_tenant, shop_client, clock, monkeypatch
):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    browse(client, "/")
    clock[0] = NOW + 3600
    forget = rollup._forget
    monkeypatch.setattr(rollup, "_forget", lambda key, buckets: None)  # killed after commit
    assert roll_up(app, shop) == 1
    assert hour(app, shop)["pv"] == 1  # still in Redis
    monkeypatch.setattr(rollup, "_forget", forget)
    assert roll_up(app, shop) == 1  # skipped the fold, deleted the key
    assert hour(app, shop) == {}
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(AnalyticsDay.pageviews)) == 1
        assert db.session.scalars(select(AnalyticsFoldedHour.hour)).all() == [
            datetime(2026, 3, 10, 15, tzinfo=UTC)
        ]


# --- the reports ----------------------------------------------------------------------------


def test_reports_read_the_days_and_todays_live_hours(app, make_tenant, shop_client, clock):
    shop = make_tenant(products=[("Teapot", 1500), ("Kettle", 3000)])
    client = shop_client(shop)
    browse(client, "/", referer="https://news.example/a")  # 10 Mar (UTC shop)
    browse(client, "/products/teapot")
    browse(client, "/products/teapot", ip="198.51.100.2", ua=PHONE)
    clock[0] = datetime(2026, 3, 12, 9, 0, tzinfo=UTC).timestamp()
    roll_up(app, shop)
    browse(client, "/products/kettle")  # 12 Mar, not folded: read live
    first, today = date(2026, 3, 9), date(2026, 3, 12)
    with app.app_context(), tenant_context(shop):
        assert traffic.totals(first, today) == traffic.Traffic(4, 3, 3)
        assert traffic.totals(first, date(2026, 3, 11)) == traffic.Traffic(3, 2, 2)
        assert traffic.daily(first, today) == [
            traffic.DayTraffic(date(2026, 3, 9), 0, 0, 0),
            traffic.DayTraffic(date(2026, 3, 10), 3, 2, 2),
            traffic.DayTraffic(date(2026, 3, 11), 0, 0, 0),
            traffic.DayTraffic(today, 1, 1, 1),
        ]
        assert traffic.top("path", first, today) == [
            ("/products/teapot", 2),
            ("/", 1),
            ("/products/kettle", 1),
        ]
        assert traffic.top("referrer", first, today, limit=1) == [("(direct)", 2)]
        assert traffic.top("device", first, today) == [("desktop", 2), ("mobile", 1)]
        assert traffic.product_views(first, today) == {"teapot": 2, "kettle": 1}
        funnel = traffic.funnel(first, today)
        assert funnel == traffic.Funnel(3, 3, 0, 0, 0)
        assert funnel.steps[:3] == [
            ("Sessions", 3, 1.0, 1.0),
            ("Viewed a product", 3, 1.0, 1.0),
            ("Added to cart", 0, 0.0, 0.0),
        ]
        assert funnel.steps[4] == ("Placed an order", 0, 0.0, 0.0)
        with pytest.raises(ValueError):
            traffic.top("password", first, today)


def test_funnel_rates():
    funnel = traffic.Funnel(200, 100, 40, 20, 10)
    assert funnel.steps == [
        ("Sessions", 200, 1.0, 1.0),
        ("Viewed a product", 100, 0.5, 0.5),
        ("Added to cart", 40, 0.4, 0.2),
        ("Reached checkout", 20, 0.5, 0.1),
        ("Placed an order", 10, 0.5, 0.05),
    ]


# --- isolation ------------------------------------------------------------------------------


def test_visiting_one_shop_never_moves_another_shops_figures(app, make_tenant, shop_client, clock):
    shop_a = make_tenant(products=[("Teapot", 1500)])
    shop_b = make_tenant(products=[("Teapot", 1500)])
    shop_client(shop_b).get("/")  # B's page is cached too (an anonymous UA: not counted)
    with app.app_context():
        redis_client().delete(*analytics_keys(app, shop_b) or [b"none"])
    before = analytics_keys(app, shop_b), day_rows(app, shop_b)
    client = shop_client(shop_a)
    for _ in range(3):
        browse(client, "/")
        browse(client, "/products/teapot")
    clock[0] = NOW + 3600
    roll_up(app, shop_a)
    roll_up(app, shop_b)
    own = (b":a:cfg", b":a:popular")  # B's switch and B's own daily marker
    after = [k for k in analytics_keys(app, shop_b) if not k.endswith(own)]
    assert (after, day_rows(app, shop_b)) == before == ([], [])
    with app.app_context(), tenant_context(shop_b):
        assert traffic.totals(date(2026, 3, 1), date(2026, 3, 31)) == traffic.Traffic(0, 0, 0)
    with app.app_context(), tenant_context(shop_a):
        assert traffic.totals(date(2026, 3, 1), date(2026, 3, 31)) == traffic.Traffic(6, 1, 1)
