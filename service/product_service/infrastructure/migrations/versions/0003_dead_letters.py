"""Dead letters and their replays; outbox rows may publish under another CloudEvent id; the
inbox is indexed by time for retention.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Column types are written out here, not imported from tables.py: a migration must create what
it created on the day it was written, whatever the code says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, sqlite

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
UtcTime = sa.DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
Payload = sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("message_id", sa.String(255), nullable=True))
    op.create_table(
        "dead_letters",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("original_topic", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("order_id", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False, server_default=""),
        sa.Column("payload", Payload, nullable=False),
        sa.Column("payload_size", sa.Integer, nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False, server_default=""),
        sa.Column("first_seen_at", UtcTime, nullable=False),
        sa.Column("last_seen_at", UtcTime, nullable=False),
        sa.Column("times_seen", sa.Integer, nullable=False, server_default="1"),
        sa.Column("discarded_at", UtcTime, nullable=True),
        sa.UniqueConstraint("original_topic", "event_id"),
    )
    op.create_index(None, "dead_letters", ["first_seen_at"])
    op.create_table(
        "dead_letter_replays",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column(
            "dead_letter_id",
            Id,
            sa.ForeignKey("dead_letters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("replayed_by", sa.String(255), nullable=False),
        sa.Column("replayed_at", UtcTime, nullable=False),
        sa.Column("outbox_event_id", sa.String(36), nullable=False),
        sa.UniqueConstraint("request_id", "dead_letter_id"),
    )
    op.create_index(None, "dead_letter_replays", ["dead_letter_id"])
    op.create_index(None, "inbox", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_created_at", "inbox")
    op.drop_table("dead_letter_replays")
    op.drop_table("dead_letters")
    with op.batch_alter_table("outbox") as table:
        table.drop_column("message_id")
