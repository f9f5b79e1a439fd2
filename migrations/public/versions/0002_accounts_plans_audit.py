"""Plans, subscriptions, audit events, hand-off tokens; tenant lifecycle and operator 2FA.

Revision ID: p0002
Revises: p0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "p0002"
down_revision = "p0001"
branch_labels = None
depends_on = None


def _ts(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def _created() -> sa.Column:
    return _ts("created_at", server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    for column in (
        _ts("launched_at"),
        sa.Column("signup_key", sa.String(64)),
        sa.Column("status_reason", sa.String(500)),
        _ts("last_active_at"),
        _ts("deleted_at"),
        _ts("purge_after"),
        sa.Column("export_path", sa.String(500)),
    ):
        op.add_column("tenants", column)
    op.create_unique_constraint("uq_tenants_signup_key", "tenants", ["signup_key"])
    # Shops that existed before launch dates did are live already.
    op.execute("UPDATE tenants SET launched_at = created_at")

    op.add_column("operators", sa.Column("totp_secret", sa.String(64)))
    op.add_column("operators", sa.Column("totp_last_step", sa.Integer()))
    op.add_column(
        "operators",
        sa.Column("session_version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column("operators", _ts("last_login_at"))

    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(63), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        sa.Column("max_products", sa.Integer()),
        sa.Column("max_staff", sa.Integer()),
        sa.Column("max_domains", sa.Integer()),
        sa.Column("transaction_fee_bps", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        _ts("retired_at"),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
        sa.UniqueConstraint("code", name="uq_plans_code"),
    )
    # At most one default plan.
    op.create_index(
        "uq_plans_one_default",
        "plans",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("trial_ends_at"),
        _ts("current_period_end"),
        _created(),
        _ts("updated_at", server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint("tenant_id", name="uq_subscriptions_tenant_id"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            ondelete="CASCADE",
            name="fk_subscriptions_tenant_id_tenants",
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_subscriptions_plan_id_plans"),
    )
    op.create_index("ix_subscriptions_plan_id", "subscriptions", ["plan_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer()),
        sa.Column("actor_type", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.Integer()),
        sa.Column("actor_email", sa.String(320)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("detail", postgresql.JSONB(), nullable=False),
        sa.Column("ip", sa.String(45)),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_tenant_id", "audit_events", ["tenant_id"])
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    op.create_index("ix_audit_events_created_at", "audit_events", ["created_at"])
    op.create_table(
        "handoff_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer()),
        sa.Column("operator_id", sa.Integer()),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(500)),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        _ts("session_expires_at"),
        _ts("ended_at"),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_handoff_tokens_token_hash"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            ondelete="CASCADE",
            name="fk_handoff_tokens_tenant_id_tenants",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            ondelete="CASCADE",
            name="fk_handoff_tokens_operator_id_operators",
        ),
    )
    op.create_index("ix_handoff_tokens_tenant_id", "handoff_tokens", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("handoff_tokens")
    op.drop_table("audit_events")
    op.drop_table("subscriptions")
    op.drop_table("plans")
    for column in ("last_login_at", "session_version", "totp_last_step", "totp_secret"):
        op.drop_column("operators", column)
    op.drop_constraint("uq_tenants_signup_key", "tenants")
    for column in (
        "export_path",
        "purge_after",
        "deleted_at",
        "last_active_at",
        "status_reason",
        "signup_key",
        "launched_at",
    ):
        op.drop_column("tenants", column)
