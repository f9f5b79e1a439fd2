"""The application's Redis connection, shared by the caches and the job queues.

Keys written through here must start with the tenant's id (`t:<id>:...`), a theme name,
or `platform:` for data that belongs to no shop: a cache keyed without its owner is
how one shop's data ends up on another's page.
"""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis


def init_app(app: Flask) -> None:
    app.extensions["redis"] = Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
    )


def redis_client() -> Redis:
    return current_app.extensions["redis"]
