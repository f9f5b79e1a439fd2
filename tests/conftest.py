"""Test fixtures: a throwaway database on a real PostgreSQL, a real Redis, real tenants.

With DATABASE_URL / REDIS_URL set, the suite creates `storefront_test_<random>` on that
PostgreSQL server and uses database 15 of that Redis server (flushed at start); without
them it does the same on the embedded servers under `instance/`. The throwaway database
is dropped at the end.

Tests commit for real (jobs, threads and browsers need committed data); every tenant a
test makes has a fresh slug, so tests never see each other's shops.
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import select
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from saas import create_app, embedded
from saas.cli import upgrade_platform
from saas.config import PROJECT_ROOT
from saas.db import db
from saas.models import Domain, Operator, Tenant
from saas.passwords import hash_password
from saas.tenancy import TenantRecord, tenant_context
from saas.tenancy.provisioning import create_tenant
from tenants.catalog.models import Product
from tenants.catalog.products import create_product
from tenants.staff.models import Staff, StaffStatus

pytest_plugins = ["tests.fakes.stripe_fixtures"]

TEST_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Point the whole run (this process and any subprocess) at throwaway stores."""
    instance = Path(os.environ.get("INSTANCE_PATH", PROJECT_ROOT / "instance"))
    base_db = os.environ.get("DATABASE_URL")
    admin = _libpq(base_db) if base_db else embedded.admin_url(instance)
    name = f"storefront_test_{uuid.uuid4().hex[:10]}"
    embedded.create_database(admin, name)
    database_url = make_url(admin).set(database=name).render_as_string(hide_password=False)

    base_redis = os.environ.get("REDIS_URL") or embedded.redis_url(instance)
    redis_url = _with_redis_db(base_redis, TEST_REDIS_DB)
    redis = Redis.from_url(redis_url)
    assert redis.connection_pool.connection_kwargs.get("db") == TEST_REDIS_DB
    redis.flushdb()

    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL", "INSTANCE_PATH")}
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        INSTANCE_PATH=str(tmp_path_factory.mktemp("instance")),
    )
    try:
        yield {"database": database_url, "redis": redis_url, "admin": admin}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        redis.flushdb()
        redis.close()
        embedded.drop_database(admin, name)


def _with_redis_db(url: str, number: int) -> str:
    """`url` pointing at database `number` (a URL's own database would win over `db=`)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"]
    if parts.scheme == "unix":
        return f"unix://{parts.path}?{urlencode([*query, ('db', str(number))])}"
    return urlunsplit(parts._replace(path=f"/{number}", query=urlencode(query)))


@pytest.fixture(scope="session")
def app(server_urls: dict[str, str]) -> Iterator[Any]:
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "PUBLIC_PORT": ""})
    with app.app_context():
        upgrade_platform()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app_ctx(app: Any) -> Iterator[Any]:
    with app.app_context():
        yield app


class SiteClient(FlaskClient):
    """A test client that talks to one host (a shop, the apex or the console)."""

    host = "localhost"

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", f"http://{self.host}")
        return super().open(*args, **kwargs)


def client_for(app: Any, host: str) -> SiteClient:
    app.test_client_class = SiteClient
    client = app.test_client()
    client.host = host
    return client


@pytest.fixture
def platform_client(app: Any) -> SiteClient:
    return client_for(app, "localhost")


@pytest.fixture
def console_client(app: Any) -> SiteClient:
    return client_for(app, "admin.localhost")


@pytest.fixture
def shop_client(app: Any) -> Callable[[TenantRecord | str], SiteClient]:
    def make(tenant: TenantRecord | str) -> SiteClient:
        host = tenant if isinstance(tenant, str) else f"{tenant.slug}.localhost"
        return client_for(app, host)

    return make


_slugs = itertools.count(1)


@pytest.fixture
def make_tenant(app: Any) -> Callable[..., TenantRecord]:
    """Factory: a committed shop with its own schema (and optionally products)."""

    def make(
        slug: str | None = None,
        name: str | None = None,
        products: list[tuple[str, int]] | None = None,
        domains: list[str] | None = None,
        **kwargs: Any,
    ) -> TenantRecord:
        slug = slug or f"shop{uuid.uuid4().hex[:6]}{next(_slugs)}"
        with app.app_context():
            tenant = create_tenant(slug, name or slug.title(), **kwargs)
            for host in domains or []:
                db.session.add(Domain(host=host, tenant_id=tenant.id))
            db.session.commit()
            record = TenantRecord.of(tenant)
            if products:
                with tenant_context(record):
                    for title, price in products:
                        create_product(title, price)
                    db.session.commit()
        return record

    return make


STAFF_PASSWORD = "plum-harbor-lantern-73"


class StaffInfo:
    def __init__(self, tenant: TenantRecord, id: int, email: str, password: str) -> None:
        self.tenant, self.id, self.email, self.password = tenant, id, email, password

    @property
    def user_id(self) -> str:
        return f"staff:{self.tenant.id}:{self.id}:1"


@pytest.fixture
def make_staff(app: Any) -> Callable[..., StaffInfo]:
    """Factory: an active staff account in `tenant` (role and areas as given)."""

    def make(
        tenant: TenantRecord,
        *,
        role: str = "staff",
        permissions: tuple[str, ...] | list[str] = (),
        email: str | None = None,
        password: str = STAFF_PASSWORD,
        status: str = StaffStatus.ACTIVE,
        name: str = "Sam Staff",
    ) -> StaffInfo:
        email = email or f"staff-{uuid.uuid4().hex[:8]}@example.com"
        with app.app_context(), tenant_context(tenant):
            staff = Staff(
                email=email,
                name=name,
                password_hash=hash_password(password),
                role=role,
                permissions=list(permissions),
                status=status,
            )
            db.session.add(staff)
            db.session.commit()
            return StaffInfo(tenant, staff.id, email, password)

    return make


def log_in_as(client: FlaskClient, user_id: str) -> None:
    """Give `client` a session for `user_id` (as `saas.auth` writes them) without a form."""
    # On the client's own host: sessions are signed per host (`saas.sessions`).
    host = getattr(client, "host", "localhost")
    with client.session_transaction(base_url=f"http://{host}") as session:
        session["_user_id"] = user_id
        session["_fresh"] = True


@pytest.fixture
def staff_client(app: Any, make_staff: Callable[..., StaffInfo]) -> Callable[..., SiteClient]:
    """Factory: a client on `tenant`'s host, logged in as a new staff member."""

    def make(tenant: TenantRecord, **kwargs: Any) -> SiteClient:
        staff = make_staff(tenant, **kwargs)
        client = client_for(app, f"{tenant.slug}.localhost")
        log_in_as(client, staff.user_id)
        client.staff = staff  # type: ignore[attr-defined]
        return client

    return make


OPERATOR_PASSWORD = "quartz-meadow-signal-58"


@pytest.fixture
def make_operator(app: Any) -> Callable[..., Operator]:
    """Factory: an operator with a TOTP secret (returned detached; read its fields)."""

    def make(email: str | None = None) -> Operator:
        import pyotp

        with app.app_context():
            operator = Operator(
                email=email or f"op-{uuid.uuid4().hex[:8]}@example.com",
                name="Olive Operator",
                password_hash=hash_password(OPERATOR_PASSWORD),
                totp_secret=pyotp.random_base32(),
            )
            db.session.add(operator)
            db.session.commit()
            db.session.refresh(operator)  # loaded before detaching: commit expired it
            db.session.expunge(operator)
            return operator

    return make


def product_titles(app: Any, tenant: TenantRecord) -> list[str]:
    with app.app_context(), tenant_context(tenant):
        return sorted(p.title for p in db.session.scalars(select(Product)))


def tenant_row(app: Any, slug: str) -> Tenant | None:
    with app.app_context():
        return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="session")
def live_server(app: Any) -> Iterator[LiveServer]:
    """A second app, configured as in production (CSRF on), served over real HTTP."""
    live_app = create_app({"TESTING": True})
    server = LiveServer(live_app)
    live_app.config["PUBLIC_PORT"] = str(server.port)
    server.thread.start()
    yield server
    server.server.shutdown()
    with live_app.app_context():
        db.engine.dispose()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh Chromium tab the size of a phone (a module may define its own `page`)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Real Chromium, one per test module (importing `tests.chromium` skips without it)."""
    from tests.chromium import launched

    with launched() as running:
        yield running
