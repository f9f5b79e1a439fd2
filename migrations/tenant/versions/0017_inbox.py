"""Customer-service inbox: conversations, their messages and attachments, the FAQ,
saved replies, inbox settings, and the topic labels and model each shop trains.

Revision ID: t0017
Revises: t0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0017"
down_revision = "t0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_faq_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_faq_entries")),
    )
    op.create_table(
        "inbox_saved_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_saved_replies")),
        sa.UniqueConstraint("title", name=op.f("uq_inbox_saved_replies_title")),
    )
    op.create_table(
        "inbox_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_hours", sa.Integer(), nullable=False),
        sa.Column("auto_reply", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_settings")),
    )
    op.create_table(
        "inbox_topic_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pipeline", sa.LargeBinary(), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column(
            "trained_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_topic_models")),
    )
    op.create_table(
        "inbox_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=20), nullable=False),
        sa.Column("topic_source", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("unread", sa.Boolean(), nullable=False),
        sa.Column("reply_token", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_message_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["staff.id"],
            name=op.f("fk_inbox_conversations_assignee_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_inbox_conversations_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_inbox_conversations_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_conversations")),
        sa.UniqueConstraint("reply_token", name=op.f("uq_inbox_conversations_reply_token")),
    )
    op.create_index(
        op.f("ix_inbox_conversations_assignee_id"),
        "inbox_conversations",
        ["assignee_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inbox_conversations_customer_id"),
        "inbox_conversations",
        ["customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inbox_conversations_email"), "inbox_conversations", ["email"], unique=False
    )
    op.create_index(
        op.f("ix_inbox_conversations_last_message_at"),
        "inbox_conversations",
        ["last_message_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inbox_conversations_order_id"), "inbox_conversations", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_inbox_conversations_status"), "inbox_conversations", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_inbox_conversations_unread"), "inbox_conversations", ["unread"], unique=False
    )
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_staff_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["author_staff_id"],
            ["staff.id"],
            name=op.f("fk_inbox_messages_author_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["inbox_conversations.id"],
            name=op.f("fk_inbox_messages_conversation_id_inbox_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_messages")),
        sa.UniqueConstraint("external_id", name=op.f("uq_inbox_messages_external_id")),
    )
    op.create_index(
        op.f("ix_inbox_messages_conversation_id"),
        "inbox_messages",
        ["conversation_id"],
        unique=False,
    )
    op.create_table(
        "inbox_topic_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["inbox_conversations.id"],
            name=op.f("fk_inbox_topic_labels_conversation_id_inbox_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_topic_labels")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_inbox_topic_labels_conversation_id")),
    )
    op.create_table(
        "inbox_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("stored_name", sa.String(length=100), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbox_messages.id"],
            name=op.f("fk_inbox_attachments_message_id_inbox_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_attachments")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_inbox_attachments_stored_name")),
    )
    op.create_index(
        op.f("ix_inbox_attachments_message_id"), "inbox_attachments", ["message_id"], unique=False
    )


def downgrade() -> None:
    for table in (
        "inbox_attachments",
        "inbox_topic_labels",
        "inbox_messages",
        "inbox_conversations",
        "inbox_topic_models",
        "inbox_settings",
        "inbox_saved_replies",
        "inbox_faq_entries",
    ):
        op.drop_table(table)
