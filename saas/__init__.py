"""Storefront platform core: `create_app()` wires the pieces and does nothing else."""

from __future__ import annotations

from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

from saas.extensions import csrf, login_manager  # noqa: F401 (until every module imports saas.extensions)
from saas.money import format_money
from saas.sessions import HostBoundSessionInterface
from saas.sites import SaasFlask


def create_app(config: dict[str, Any] | None = None) -> SaasFlask:
    """Build the application.

    Args:
        config: overrides applied after the environment (tests pass their database here).
    """
    from saas import auth, cache, cli, db, errors, logs, page_cache, ratelimit, security, theming
    from saas import config as settings
    from saas.tenancy import resolve

    app = SaasFlask(
        __name__, host_matching=True, static_folder=None, instance_relative_config=False
    )
    app.config.update(settings.from_env())
    app.config.update(config or {})
    app.instance_path = app.config["INSTANCE_PATH"]
    app.session_interface = HostBoundSessionInterface()

    logs.init_app(app)
    app.add_template_filter(format_money, "money")
    db.init_app(app)  # the engine, the session and the unit-of-work hooks
    cache.init_app(app)
    page_cache.init_app(app)
    ratelimit.init_app(app)
    resolve.init_app(app)  # host -> site -> shop, before any blueprint's hooks
    errors.init_app(app)
    theming.init_app(app)
    csrf.init_app(app)
    security.init_app(app)
    auth.init_app(app)

    from saas.billing import webhooks as billing_webhooks
    from saas.operator import bp as operator_bp
    from saas.payments import webhooks as stripe_webhooks
    from saas.payments.webhooks import bp as stripe_bp
    from saas.signup import bp as platform_bp
    from tenants.backoffice import bp as backoffice_bp
    from tenants.shop import bp as shop_bp

    stripe_webhooks.register(billing_webhooks.HANDLERS, scope="platform")
    from saas.billing import limits
    from tenants.services import catalog, staff

    limits.register_counter(limits.Limit.PRODUCTS, catalog.counted_products)
    limits.register_counter(limits.Limit.STAFF, staff.used_seats)
    from saas import provisioning
    from tenants.services import customers, shop_settings

    provisioning.register_seed(shop_settings.seed_new_shop)
    auth.register_shop_user("staff", staff.load_staff)
    auth.register_shop_user("customer", customers.load_customer)

    app.register_blueprint(platform_bp)
    app.register_blueprint(operator_bp)
    app.register_blueprint(stripe_bp)
    app.register_blueprint(shop_bp)
    app.register_blueprint(backoffice_bp)
    cli.init_app(app)
    from tenants.shop import cache as front_cache

    front_cache.init_app(app)  # stored pages answered before Flask runs
    if app.config["TRUST_PROXY"]:
        # Outermost, so every middleware (the storefront's page cache) sees the real host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    return app
