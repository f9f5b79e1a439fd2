"""The application factory and configuration."""

from __future__ import annotations

import pytest

from saas import create_app
from saas.config import from_env, normalise_database_url


def test_factory_wires_sites(app):
    hosts = {rule.host for rule in app.url_map.iter_rules()}
    assert hosts == {"platform", "console", "shop"}
    assert {"platform", "console", "shop", "backoffice"} <= set(app.blueprints)


def test_factory_accepts_overrides(server_urls):
    app = create_app({"TESTING": True, "HOST_CACHE_TTL": 7})
    assert app.testing and app.config["HOST_CACHE_TTL"] == 7


def test_database_urls_use_psycopg3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_production_requires_a_secret_key(tmp_path):
    env = {
        "SAAS_ENV": "production",
        "DATABASE_URL": "postgresql://x/y",
        "REDIS_URL": "redis://x",
        "INSTANCE_PATH": str(tmp_path),
    }
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        from_env(env)


def test_urls_from_environment_start_no_embedded_server(tmp_path):
    config = from_env(
        {
            "DATABASE_URL": "postgresql://db.example/shop",
            "REDIS_URL": "redis://r:6379/0",
            "SAAS_DOMAIN": "Shops.Example.COM:8443",
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db.example/shop"
    assert config["SAAS_DOMAIN"] == "shops.example.com"  # lowercased, port ignored
    assert not (tmp_path / "postgres").exists()


def test_session_cookie_is_host_only(app):
    assert app.config["SESSION_COOKIE_DOMAIN"] is None
    assert app.config["REMEMBER_COOKIE_DOMAIN"] is None


def test_production_refuses_to_start_embedded_servers(tmp_path):
    env = {"SAAS_ENV": "production", "SECRET_KEY": "x" * 40, "INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(RuntimeError, match="DATABASE_URL and REDIS_URL must be set"):
        from_env(env)
    assert not (tmp_path / "postgres").exists()
