"""Storefront platform: `create_app()` wires the pieces and does nothing else.

Reading this function tells the whole wiring: the core (tenancy and kernel) is bound to
the app first; then what the core needs from the merchants' domains is registered with
it; then the four doors (platform, console, shop, back office) and the Stripe endpoints;
then the WSGI middlewares, outermost last.
"""

from __future__ import annotations

from typing import Any

from saas.tenancy.sites import SaasFlask


def create_app(config: dict[str, Any] | None = None) -> SaasFlask:
    """Build the application.

    Args:
        config: overrides applied after the environment (tests pass their database here).
    """
    # Imported here, not at the top: importing any `saas.*` module runs this package's
    # __init__, and the core (a worker, a migration) must not load every door with it.
    from werkzeug.middleware.proxy_fix import ProxyFix

    from saas import auth, cache, cli, db, errors, logs, page_cache, ratelimit, security, theming
    from saas import config as settings
    from saas.billing import limits
    from saas.billing import webhooks as billing_webhooks
    from saas.console import bp as console_bp
    from saas.extensions import csrf, login_manager
    from saas.money import format_money
    from saas.payments import webhooks as stripe_webhooks
    from saas.platform import bp as platform_bp
    from saas.sessions import HostBoundSessionInterface
    from saas.tenancy import provisioning, resolve
    from tenants.analytics import buffer as visit_buffer
    from tenants.backoffice import bp as backoffice_bp
    from tenants.catalog import products
    from tenants.customers import services as customers
    from tenants.geo import addresses
    from tenants.loyalty import hooks as loyalty
    from tenants.orders import card_payments
    from tenants.payments import services as payment_settings
    from tenants.settings import services as shop_settings
    from tenants.shipping import defaults as shipping_defaults
    from tenants.shop import bp as shop_bp
    from tenants.shop import cache as front_cache
    from tenants.staff import services as staff

    app = SaasFlask(
        __name__, host_matching=True, static_folder=None, instance_relative_config=False
    )
    app.config.update(settings.from_env())
    app.config.update(config or {})
    app.instance_path = app.config["INSTANCE_PATH"]
    app.session_interface = HostBoundSessionInterface()

    # The core.
    logs.init_app(app)
    security.init_app(app)  # headers, and the request refusals that come before any hook
    app.add_template_filter(format_money, "money")
    db.init_app(app)  # the engine, the session and the unit-of-work hooks
    cache.init_app(app)
    page_cache.init_app(app)
    ratelimit.init_app(app)
    resolve.init_app(app)  # host -> site -> shop, before any blueprint's hooks
    errors.init_app(app)
    theming.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)

    # What the core needs from the merchants' domains.
    auth.register_shop_user("staff", staff.load_staff)
    auth.register_shop_user("customer", customers.load_customer)
    login_manager.blueprint_login_views.update(
        console="console.login", backoffice="backoffice.login"
    )
    # Every page of both doors prints an address the one way its country writes it.
    app.add_template_filter(addresses.format_lines, "address_lines")
    provisioning.register_seed(shop_settings.seed_new_shop)
    provisioning.register_seed(shipping_defaults.seed_new_shop)  # reads the settings row
    limits.register_counter(limits.Limit.PRODUCTS, products.counted_products)
    limits.register_counter(limits.Limit.STAFF, staff.used_seats)
    stripe_webhooks.register(billing_webhooks.HANDLERS, scope="platform")
    stripe_webhooks.register(card_payments.HANDLERS, scope="shop")
    stripe_webhooks.register(payment_settings.HANDLERS, scope="shop")
    visit_buffer.init_app(app)  # storefront visits, queued in Redis by a thread
    loyalty.connect()  # points earned, taken back and given on the shop's events

    # The doors.
    app.register_blueprint(platform_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(stripe_webhooks.bp)
    app.register_blueprint(shop_bp)
    app.register_blueprint(backoffice_bp)
    cli.init_app(app)

    # Middlewares, outermost last.
    front_cache.init_app(app)  # stored storefront pages answered before Flask runs
    if app.config["TRUST_PROXY"]:
        # Outermost, so every middleware (the storefront's front cache) sees the real host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    return app
