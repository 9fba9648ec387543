"""Outbox rows may carry a whole broker record, published with rawPayload instead of as a
CloudEvent: the outcomes of orders that came over the legacy bridge (go-micro format).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Column types are written out here, not imported from tables.py: a migration must create what
it created on the day it was written, whatever the code says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every row written before is a CloudEvent's data: false for all of them.
    with op.batch_alter_table("outbox") as table:
        table.add_column(
            sa.Column("raw_payload", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # A raw row left unpublished would go out as a CloudEvent after the downgrade: refuse.
    pending = op.get_bind().execute(
        sa.text("SELECT count(*) FROM outbox WHERE raw_payload AND published_at IS NULL")
    )
    if pending.scalar_one():
        raise RuntimeError(
            "unpublished legacy (raw) outbox rows: publish them before downgrading below 0004"
        )
    with op.batch_alter_table("outbox") as table:
        table.drop_column("raw_payload")
