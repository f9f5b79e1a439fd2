"""Pytest fixtures around the fake Stripe (registered in tests/conftest.py).

* `fake_stripe` (session): the running fake. Its state lasts the whole run, so tests
  use fresh accounts (`connect_account()`) and never see each other's objects.
* `stripe_app` (per test): the test app pointed at the fake (keys, base URLs), with the
  fake's webhooks delivered to the app through a test client; restored afterwards, so
  other tests still see a platform without Stripe.
* `stripe_live` (per test): the same for the `live_server` app, with webhooks over
  real HTTP (concurrency, browsers).
* `connect_stripe` (factory): a shop with a connected Stripe account, without the OAuth
  round trip (`connect_stripe(tenant) -> "acct_..."`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from saas.db import db
from saas.tenancy import TenantRecord, tenant_context
from tests.fakes.stripe_server import FakeStripe, app_target, url_target


@pytest.fixture(scope="session")
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@contextmanager
def pointed_at(app: Any, fake: FakeStripe, target: Any) -> Iterator[None]:
    """`app` configured for `fake`, and the fake's webhooks sent to `target`, for a block."""
    settings = fake.app_config()
    saved = {name: app.config.get(name) for name in settings}
    saved_target, saved_sync = fake.webhook_target, fake.sync_payment_webhooks
    app.config.update(settings)
    fake.webhook_target = target
    try:
        yield
    finally:
        fake.wait_for_webhooks()
        app.config.update(saved)
        fake.webhook_target, fake.sync_payment_webhooks = saved_target, saved_sync


@pytest.fixture
def stripe_app(app: Any, fake_stripe: FakeStripe) -> Iterator[Any]:
    with pointed_at(app, fake_stripe, app_target(app)):
        yield app


@pytest.fixture
def stripe_live(live_server: Any, fake_stripe: FakeStripe) -> Iterator[Any]:
    """The live server, configured for the fake; webhooks go to it over HTTP."""
    target = url_target(live_server.url("localhost", "/webhooks/stripe"))
    with pointed_at(live_server.server.app, fake_stripe, target):
        yield live_server


@pytest.fixture
def connect_stripe(app: Any, fake_stripe: FakeStripe) -> Callable[..., str]:
    """Factory: link `tenant` to a (new) connected account in the fake, as OAuth would."""
    from tenants.payments.services import link_stripe_account

    def connect(tenant: TenantRecord, account_id: str | None = None) -> str:
        account_id = fake_stripe.connect_account(account_id)
        with app.app_context(), tenant_context(tenant):
            link_stripe_account(account_id)
            db.session.commit()
        return account_id

    return connect
