"""Storefront platform core: `create_app()` wires the pieces and does nothing else."""

from __future__ import annotations

from typing import Any

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from saas.money import format_money
from saas.sessions import HostBoundSessionInterface
from saas.sites import SaasFlask

login_manager = LoginManager()
csrf = CSRFProtect()


def create_app(config: dict[str, Any] | None = None) -> SaasFlask:
    """Build the application.

    Args:
        config: overrides applied after the environment (tests pass their database here).
    """
    from saas import auth, cache, cli, logs, ratelimit, security, tenancy, theming
    from saas import config as settings
    from saas.db import db

    app = SaasFlask(
        __name__, host_matching=True, static_folder=None, instance_relative_config=False
    )
    app.config.update(settings.from_env())
    app.config.update(config or {})
    app.instance_path = app.config["INSTANCE_PATH"]
    app.session_interface = HostBoundSessionInterface()

    logs.init_app(app)
    app.add_template_filter(format_money, "money")
    db.init_app(app)
    cache.init_app(app)
    ratelimit.init_app(app)
    tenancy.init_app(app)
    theming.init_app(app)
    csrf.init_app(app)
    security.init_app(app)
    login_manager.init_app(app)
    assert auth.load_user  # registers the user loader

    from saas.billing import webhooks as billing_webhooks  # noqa: F401 (registers handlers)
    from saas.operator import bp as operator_bp
    from saas.payments.webhooks import bp as stripe_bp
    from saas.signup import bp as platform_bp
    from tenants.backoffice import bp as backoffice_bp
    from tenants.shop import bp as shop_bp

    app.register_blueprint(platform_bp)
    app.register_blueprint(operator_bp)
    app.register_blueprint(stripe_bp)
    app.register_blueprint(shop_bp)
    app.register_blueprint(backoffice_bp)
    cli.init_app(app)
    if app.config["TRUST_PROXY"]:
        # Outermost, so every middleware (the storefront's page cache) sees the real host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    return app
