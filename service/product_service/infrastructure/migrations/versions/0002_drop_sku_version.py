"""SKUs lose their version column: written on every stock change and never read.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite drops a column by copying the table; MySQL and MariaDB alter in place.
    with op.batch_alter_table("skus") as skus:
        skus.drop_column("version")


def downgrade() -> None:
    # Literal type on purpose: a migration must not follow later edits of tables.py.
    with op.batch_alter_table("skus") as skus:
        skus.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))
