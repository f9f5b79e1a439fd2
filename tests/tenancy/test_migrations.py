"""Schema provisioning and the two migration trees."""

from __future__ import annotations

from sqlalchemy import select, text

from saas.db import db, schema_for
from saas.models import Tenant
from saas.tenancy.migrations import head_revision, tenant_version, upgrade_tenant_schema
from saas.tenancy.provisioning import create_tenant
from saas.tenancy.sites import InvalidSlug

COLUMNS = """
    SELECT table_name, column_name, data_type, is_nullable, column_default
    FROM information_schema.columns WHERE table_schema = :s AND table_name <> 'alembic_version'
    ORDER BY table_name, column_name
"""
CONSTRAINTS = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = CAST(:s AS regnamespace) ORDER BY 1, 2
"""


def _shape(conn, schema):
    columns = [
        (table, column, kind, nullable, (default or "").replace(f"{schema}.", "<schema>."))
        for table, column, kind, nullable, default in conn.execute(text(COLUMNS), {"s": schema})
    ]
    constraints = [
        (rel.split(".", 1)[-1], name, definition.replace(f"{schema}.", "<schema>."))
        for rel, name, definition in conn.execute(text(CONSTRAINTS), {"s": schema})
        if not rel.endswith("alembic_version")
    ]
    return columns, constraints


def test_provisioned_schema_matches_the_migration_history(app, make_tenant):
    """Building from metadata and stamping head must equal replaying every revision."""
    built = make_tenant()
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text('CREATE SCHEMA "t_999999"'))
        upgrade_tenant_schema("t_999999")
        with db.engine.connect() as conn:
            built_shape, replayed_shape = _shape(conn, built.schema), _shape(conn, "t_999999")
            assert built_shape[0] == replayed_shape[0]
            assert set(built_shape[1]) ^ set(replayed_shape[1]) == set()
            assert tenant_version(conn, built.schema) == head_revision("tenant")
            assert tenant_version(conn, "t_999999") == head_revision("tenant")
        with db.engine.begin() as conn:
            conn.execute(text('DROP SCHEMA "t_999999" CASCADE'))


def test_upgrade_is_a_noop_at_head(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        assert upgrade_tenant_schema(tenant.schema) is False


def test_a_failed_creation_leaves_no_half_made_tenant(app, monkeypatch):
    import saas.tenancy.provisioning as provisioning

    def explode(conn, schema):
        raise RuntimeError("disk full")

    monkeypatch.setattr(provisioning, "stamp_tenant", explode)
    with app.app_context():
        try:
            create_tenant("halfmade", "Half Made")
        except RuntimeError:
            db.session.rollback()
        assert db.session.scalar(select(Tenant).where(Tenant.slug == "halfmade")) is None
        schemas = db.session.scalars(
            text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'")
        ).all()
        tenant_ids = set(db.session.scalars(select(Tenant.id)))
        assert {s for s in schemas if s != "t_999999"} <= {schema_for(i) for i in tenant_ids}


def test_invalid_slug_is_refused_with_a_reason(app):
    with app.app_context():
        for slug, reason in [
            ("ab", "at least 3"),
            ("Shop", "lowercase"),
            ("admin", "reserved"),
            ("a--b", "two hyphens"),
            ("-abc", "starting and ending"),
            ("x" * 64, "at most 63"),
        ]:
            try:
                create_tenant(slug, "X")
            except InvalidSlug as exc:
                assert reason in str(exc), (slug, str(exc))
            else:
                raise AssertionError(f"{slug!r} was accepted")


def test_duplicate_slug_is_refused(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        try:
            create_tenant(tenant.slug, "Again")
        except InvalidSlug as exc:
            assert "already taken" in str(exc)
        else:
            raise AssertionError("duplicate accepted")


def test_missing_schema_gives_a_clear_page_not_a_traceback(app, make_tenant, shop_client):
    tenant = make_tenant(products=[("Ghost", 100)])
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{tenant.schema}" CASCADE'))
    response = shop_client(tenant).get("/")
    assert response.status_code == 503
    assert "temporarily unavailable" in response.text
    assert "Traceback" not in response.text and "ProgrammingError" not in response.text
    with app.app_context():  # leave no broken shop behind for `tenants migrate` tests
        db.session.delete(db.session.get(Tenant, tenant.id))
        db.session.commit()


def test_orders_single_status_is_split_on_upgrade(app):
    """t0008 turns each old order status into a payment and a fulfilment status."""
    schema = "t_999998"
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            upgrade_tenant_schema(schema, "t0007")
            with db.engine.begin() as conn:
                for number, status in enumerate(("paid", "fulfilled", "cancelled", "pending")):
                    conn.execute(
                        text(
                            f'INSERT INTO "{schema}".orders (number, email, customer_name, '
                            "status, currency, total_cents) VALUES (:n, 'a@example.com', '', "
                            ":s, 'USD', 500)"
                        ),
                        {"n": 1001 + number, "s": status},
                    )
            upgrade_tenant_schema(schema)
            with db.engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT number, payment_status, fulfillment_status, "
                        f'cancelled_at IS NOT NULL FROM "{schema}".orders ORDER BY number'
                    )
                ).all()
                counter = conn.execute(text(f'SELECT value FROM "{schema}".counters')).scalar()
            assert [tuple(r) for r in rows] == [
                (1001, "paid", "unfulfilled", False),
                (1002, "paid", "fulfilled", False),
                (1003, "voided", "unfulfilled", True),
                (1004, "pending", "unfulfilled", False),
            ]
            assert counter == 1004
        finally:
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
