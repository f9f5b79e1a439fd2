"""Settings, read from the environment once at start-up.

Every setting has a default that makes `make demo` work on a bare machine: with no
`DATABASE_URL` / `REDIS_URL`, embedded servers are started under the instance folder
(see `saas.embedded`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from saas import embedded

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Shop names that would collide with platform hosts, mail or common infrastructure.
RESERVED_SLUGS = frozenset(
    [
        "www",
        "admin",
        "api",
        "app",
        "apps",
        "assets",
        "auth",
        "billing",
        "blog",
        "cdn",
        "console",
        "dashboard",
        "dev",
        "docs",
        "ftp",
        "help",
        "host",
        "hostmaster",
        "imap",
        "localhost",
        "mail",
        "media",
        "mx",
        "ns",
        "ns1",
        "ns2",
        "operator",
        "pop",
        "pop3",
        "portal",
        "postmaster",
        "root",
        "shop",
        "shops",
        "signup",
        "smtp",
        "ssl",
        "staging",
        "static",
        "status",
        "store",
        "stripe",
        "support",
        "test",
        "webmail",
        "webhooks",
    ]
)


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Make any PostgreSQL URL use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(instance_path: Path) -> str:
    """A stable development key kept in the instance folder, so sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def from_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables.

    The embedded servers are started here (and only here) when no URL is set, so a
    single `create_app()` works for the web server, the CLI and the worker alike.
    """
    env = os.environ if environ is None else environ
    instance_path = Path(env.get("INSTANCE_PATH", PROJECT_ROOT / "instance")).resolve()
    production = env.get("SAAS_ENV", "development") == "production"

    secret_key = env.get("SECRET_KEY")
    if not secret_key:
        if production:
            raise RuntimeError("SECRET_KEY must be set when SAAS_ENV=production")
        secret_key = _secret_key(instance_path)

    database_url = env.get("DATABASE_URL")
    redis_url = env.get("REDIS_URL")
    if not database_url or not redis_url:
        if production:
            raise RuntimeError("DATABASE_URL and REDIS_URL must be set when SAAS_ENV=production")
        if not database_url:
            database_url = embedded.postgres_url(instance_path)
        if not redis_url:
            redis_url = embedded.redis_url(instance_path)

    stripe = _stripe_settings(env, production)
    upload_bytes = int(env.get("MAX_UPLOAD_MB", "10")) * 1024 * 1024

    try:
        port = int(env.get("PORT") or "5000")
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise RuntimeError(f"PORT must be a port number (1 to 65535), not {env['PORT']!r}")

    domain = env.get("SAAS_DOMAIN", "localhost").strip().lower().rstrip(".")
    domain = domain.split(":", 1)[0]  # the port is never part of the identity of a site

    return {
        "SAAS_ENV": "production" if production else "development",
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {
            # Small pools, recycled by age: every backend caches the catalog of each
            # schema it touches, so long-lived connections grow with the tenant count.
            "pool_size": int(env.get("DB_POOL_SIZE", "5")),
            "max_overflow": int(env.get("DB_MAX_OVERFLOW", "10")),
            "pool_recycle": int(env.get("DB_POOL_RECYCLE", "300")),
            "pool_pre_ping": True,
            # Most-recently-used first: a few warm connections serve most requests, so
            # fewer backends build a catalog cache of every shop's schema.
            "pool_use_lifo": True,
            # Behind a transaction-mode PgBouncer older than 1.21, server-side prepared
            # statements break: DB_PREPARED_STATEMENTS=0 turns them off.
            **(
                {"connect_args": {"prepare_threshold": None}}
                if not _bool(env.get("DB_PREPARED_STATEMENTS"), default=True)
                else {}
            ),
        },
        "REDIS_URL": redis_url,
        "SAAS_DOMAIN": domain,
        "OPERATOR_SUBDOMAIN": env.get("OPERATOR_SUBDOMAIN", "admin"),
        # Scheme and port used when the platform writes absolute links (emails, hand-offs).
        "PREFERRED_URL_SCHEME": env.get("URL_SCHEME", "https" if production else "http"),
        # The port `flask serve` listens on; in development absolute links use it too,
        # so `PORT=5100 make demo` is the one setting (PUBLIC_PORT: a proxy in front).
        "PORT": port,
        "PUBLIC_PORT": env.get("PUBLIC_PORT", "" if production else str(port)),
        "TRUST_PROXY": _bool(env.get("TRUST_PROXY")),
        "HOST_CACHE_TTL": int(env.get("HOST_CACHE_TTL", "60")),
        # Anonymous storefront pages kept in Redis, per shop, until the shop changes.
        "PAGE_CACHE_ENABLED": _bool(env.get("PAGE_CACHE_ENABLED"), default=True),
        "PAGE_CACHE_TTL": int(env.get("PAGE_CACHE_TTL", "300")),
        "QUEUE_PREFIX": env.get("QUEUE_PREFIX", ""),
        "MIGRATION_WORKERS": int(env.get("MIGRATION_WORKERS", "4")),
        # Days a deleted shop's data is kept (and can be restored) before its schema goes.
        "DELETED_RETENTION_DAYS": int(env.get("DELETED_RETENTION_DAYS", "30")),
        "MEDIA_PATH": str(Path(env.get("MEDIA_PATH", instance_path / "media")).resolve()),
        "EXPORT_PATH": str(Path(env.get("EXPORT_PATH", instance_path / "exports")).resolve()),
        "SMTP_URL": env.get("SMTP_URL", ""),
        # Billing: days a shop keeps selling after a failed payment (or an unpaid trial's
        # end) before its storefront closes, and the days into that grace period on which
        # the owner is reminded (the first notice goes out at once).
        "BILLING_GRACE_DAYS": int(env.get("BILLING_GRACE_DAYS", "14")),
        "BILLING_REMINDER_DAYS": env.get("BILLING_REMINDER_DAYS", "3,7,12"),
        "TRIAL_REMINDER_DAYS": int(env.get("TRIAL_REMINDER_DAYS", "3")),
        # Off only for load tests and benchmarks, never in production.
        "RATELIMIT_ENABLED": production or _bool(env.get("RATELIMIT_ENABLED"), default=True),
        # The one limit of an uploaded file (images, logo, CSV), shown by every upload
        # form. Bodies up to 4 times that are still read, so that a file too large gets
        # its form back with its size (saas/uploads.py); larger ones are cut off (413).
        "MAX_UPLOAD_BYTES": upload_bytes,
        "MAX_CONTENT_LENGTH": 4 * upload_bytes + 1024 * 1024,
        "MAIL_FROM": env.get("MAIL_FROM", f"Storefront <no-reply@{domain}>"),
        # Shoppers' email replies to the inbox (tenants/inbox/inbound.py): the domain of
        # the reply+<token>@ addresses, and the secret the provider's webhook is signed
        # with. Unset: emails carry only the thread link, and the webhook refuses all.
        "INBOUND_EMAIL_DOMAIN": env.get("INBOUND_EMAIL_DOMAIN", "").strip().lower(),
        "INBOUND_EMAIL_SECRET": env.get("INBOUND_EMAIL_SECRET", "").strip(),
        # Typed email addresses are always checked for syntax (saas/email_address.py);
        # this also asks DNS whether the domain takes mail (a lookup per new address).
        "EMAIL_CHECK_DELIVERABILITY": _bool(env.get("EMAIL_CHECK_DELIVERABILITY")),
        # Addresses at RFC 6761's `.test` domains, for development and test shops.
        "EMAIL_ALLOW_TEST_DOMAINS": _bool(
            env.get("EMAIL_ALLOW_TEST_DOMAINS"), default=not production
        ),
        # Host-only cookies: no Domain attribute, so no shop's cookie reaches another host.
        "SESSION_COOKIE_DOMAIN": None,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(env.get("SESSION_HOURS", "12"))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_DOMAIN": None,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        **stripe,
    }


def _stripe_settings(env: Mapping[str, str], production: bool) -> dict[str, str]:
    """Stripe keys and endpoints. With no secret key, Stripe features say "not configured".

    The base URLs exist so tests (and a developer) can point the real SDK at a local
    fake Stripe server; in production they must stay https, since the secret key
    travels in every request.
    """
    settings = {
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", "").strip(),
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY", "").strip(),
        # Several secrets may be listed, comma-separated: the platform's own endpoint and
        # its Connect endpoint can share the URL, each with its own signing secret.
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", "").strip(),
        "STRIPE_CONNECT_CLIENT_ID": env.get("STRIPE_CONNECT_CLIENT_ID", "").strip(),
        # Where the SDK sends requests: Stripe itself unless a fake stands in for it.
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", "https://api.stripe.com"),
        "STRIPE_CONNECT_BASE": env.get("STRIPE_CONNECT_BASE", "https://connect.stripe.com"),
    }
    for name in ("STRIPE_API_BASE", "STRIPE_CONNECT_BASE"):
        settings[name] = settings[name].strip().rstrip("/")
    if production:
        for name in ("STRIPE_API_BASE", "STRIPE_CONNECT_BASE"):
            if not settings[name].startswith("https://"):
                raise RuntimeError(f"{name} must be an https:// URL when SAAS_ENV=production")
    return settings
