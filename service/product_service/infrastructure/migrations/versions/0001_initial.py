"""Initial schema: products, SKUs with a non-negative stock CHECK, ledger, inbox, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from product_service.infrastructure.db.tables import Id, UnsignedInt, UtcTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Literal sizes on purpose (the SKU code's String(64), the price's Numeric(12, 2), both in
    # domain/limits.py): a migration records the schema as it was and must not follow edits.
    op.create_table(
        "products",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", UtcTime, nullable=False),
    )
    op.create_table(
        "skus",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("product_id", Id, sa.ForeignKey("products.id"), nullable=False, index=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("stock", UnsignedInt, nullable=False),
        sa.Column("warn_threshold", UnsignedInt, nullable=False, server_default="0"),
        sa.Column("sales", UnsignedInt, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="ON_SALE"),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
        sa.CheckConstraint("sales >= 0", name="sales_not_negative"),
    )
    op.create_table(
        "stock_ledger",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("sku_id", Id, sa.ForeignKey("skus.id"), nullable=False, index=True),
        sa.Column("order_id", sa.BigInteger, nullable=True, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("note", sa.String(255), nullable=False, server_default=""),
        sa.Column("created_at", UtcTime, nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.BigInteger, nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False, server_default="NONE"),
        sa.Column("created_at", UtcTime, nullable=False),
        sa.UniqueConstraint("order_id", "operation"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("trace_context", sa.String(512), nullable=True),
        sa.Column("created_at", UtcTime, nullable=False),
        sa.Column("published_at", UtcTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index(None, "outbox", ["published_at", "id"])


def downgrade() -> None:
    for table in ("outbox", "inbox", "stock_ledger", "skus", "products"):
        op.drop_table(table)
