"""The process's visit buffer: pages hand it their visits, a thread queues them in Redis
in batches (`tenants.analytics.buffer`)."""

from __future__ import annotations

import logging
import os
import time

from redis import Redis

from saas.cache import redis_client
from tenants.analytics import buffer, visits
from tests.analytics.test_visits import BROWSER, NOW, browse, hour, queued
from tests.analytics.test_visits import clock as clock  # the fixed clock, autouse here too

PAGE = {"HTTP_USER_AGENT": BROWSER, "REMOTE_ADDR": "203.0.113.9", "PATH_INFO": "/"}


def lines(app, tenant) -> list[str]:
    buffer.of(app).flush()
    with app.app_context():
        return [raw.decode() for raw in redis_client().lrange(visits.queue_key(tenant.id), 0, -1)]


def test_one_flush_keeps_each_shops_visits_in_its_own_queue(app, make_tenant, shop_client):
    shop_a, shop_b = make_tenant(), make_tenant()
    with app.app_context():
        visits.write_config(shop_b.id, visits.Config(respect_privacy_signals=True))
    a, b = shop_client(shop_a), shop_client(shop_b)
    for _ in range(2):  # the same person, interleaved, in one batch
        browse(a, "/", DNT="1")
        browse(b, "/", DNT="1")  # B honours Do Not Track: dropped
        browse(b, "/")
    queued_a, queued_b = lines(app, shop_a), lines(app, shop_b)
    assert (len(queued_a), len(queued_b)) == (2, 2)
    # One person is another visitor in each shop: nobody can be followed across shops.
    visitors_a = {line.split("\t")[0] for line in queued_a}
    visitors_b = {line.split("\t")[0] for line in queued_b}
    assert len(visitors_a) == len(visitors_b) == 1 and visitors_a != visitors_b
    assert hour(app, shop_a)["pv"] == 2 and hour(app, shop_b)["pv"] == 2


def test_the_thread_queues_visits_without_being_asked(app, make_tenant, shop_client):
    shop = make_tenant()
    browse(shop_client(shop), "/")
    with app.app_context():
        redis = redis_client()
        deadline = time.monotonic() + 10 * buffer.INTERVAL
        while not redis.llen(visits.queue_key(shop.id)) and time.monotonic() < deadline:
            time.sleep(buffer.INTERVAL / 5)
        assert redis.llen(visits.queue_key(shop.id)) == 1
    assert queued(app, shop) == 1


def test_a_forked_child_never_queues_its_parents_visits(app, make_tenant):
    shop = make_tenant()
    waiting = buffer.VisitBuffer(app.extensions["redis"])
    waiting.background = False
    waiting.add(shop.id, PAGE)
    child = os.fork()
    if child == 0:  # a server's worker forked with a visit waiting in the parent
        os._exit(0 if len(waiting) == 0 and waiting.flush() == 0 else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert waiting.flush() == 1
    assert queued(app, shop) == 1


def test_without_redis_visits_are_dropped_with_a_warning(app, make_tenant, caplog, monkeypatch):
    shop = make_tenant()
    monkeypatch.setattr(buffer, "MAX_PENDING", 3)
    down = buffer.VisitBuffer(Redis(port=1, socket_connect_timeout=0.2))
    down.background = False
    for _ in range(5):
        down.add(shop.id, PAGE)
    assert len(down) == 3  # bounded: the oldest went
    with caplog.at_level(logging.WARNING, logger="tenants.analytics.buffer"):
        assert down.flush() == 3
    assert "analytics store unavailable" in caplog.text
    assert len(down) == 0 and queued(app, shop) == 0


def test_bots_and_prefetches_are_left_out_at_the_flush(app, make_tenant):
    shop = make_tenant()
    waiting = buffer.VisitBuffer(app.extensions["redis"])
    waiting.background = False
    waiting.add(
        shop.id, {**PAGE, "HTTP_USER_AGENT": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
    )
    waiting.add(shop.id, {**PAGE, "HTTP_SEC_PURPOSE": "prefetch"})
    waiting.add(shop.id, {**PAGE, "PATH_INFO": "/a\nb"})  # a decoded path with a newline
    assert waiting.flush() == 3
    with app.app_context():
        kept = redis_client().lrange(visits.queue_key(shop.id), 0, -1)
    assert len(kept) == 1 and kept[0].split(b"\t")[1] == str(int(NOW)).encode()
    assert kept[0].split(b"\t")[4] == b"/a b"
