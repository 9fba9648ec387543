"""Table definitions (SQLAlchemy Core). Alembic migrations create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects import mysql, sqlite

from product_service.domain.limits import PRICE_DECIMALS, PRICE_DIGITS, SKU_CODE_LENGTH

# SQLite only auto-increments INTEGER PRIMARY KEY, so BIGINT ids become INTEGER there.
Id = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
# Stock and counters are unsigned on MySQL; the CHECK keeps every dialect honest.
UnsignedInt = Integer().with_variant(mysql.INTEGER(unsigned=True), "mysql", "mariadb")
UtcTime = DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

products = Table(
    "products",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("created_at", UtcTime, nullable=False),
)

skus = Table(
    "skus",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("product_id", Id, ForeignKey("products.id"), nullable=False, index=True),
    Column("code", String(SKU_CODE_LENGTH), nullable=False, unique=True),
    Column("price", Numeric(PRICE_DIGITS, PRICE_DECIMALS), nullable=False),
    Column("stock", UnsignedInt, nullable=False),
    Column("warn_threshold", UnsignedInt, nullable=False, server_default="0"),
    Column("sales", UnsignedInt, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False, server_default="ON_SALE"),
    CheckConstraint("stock >= 0", name="stock_not_negative"),
    CheckConstraint("sales >= 0", name="sales_not_negative"),
)

stock_ledger = Table(
    "stock_ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sku_id", Id, ForeignKey("skus.id"), nullable=False),
    Column("order_id", BigInteger, nullable=True),
    Column("kind", String(16), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("note", String(255), nullable=False, server_default=""),
    Column("created_at", UtcTime, nullable=False),
    Index(None, "sku_id"),
    Index(None, "order_id"),
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, nullable=False),
    Column("operation", String(16), nullable=False),
    Column("message_id", String(255), nullable=False, server_default=""),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(32), nullable=False, server_default="NONE"),
    Column("created_at", UtcTime, nullable=False),
    UniqueConstraint("order_id", "operation"),
    Index(None, "created_at"),  # retention finds expired rows by it
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("topic", String(255), nullable=False),
    Column("message_key", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("trace_context", String(512), nullable=True),
    Column("created_at", UtcTime, nullable=False),
    Column("published_at", UtcTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # The CloudEvent id to publish under when it is not event_id: a replayed dead letter keeps
    # the id it had, so that a message still poison is counted again, not recorded anew.
    Column("message_id", String(255), nullable=True),
    # The payload is the whole broker record, published with rawPayload (no CloudEvent): an
    # outcome in the legacy go-micro format (infrastructure/legacy_codec.py).
    Column("raw_payload", Boolean, nullable=False, server_default=false()),
    Index(None, "published_at", "id"),
)

# At most this much of a dead letter's payload is kept; larger ones are recorded truncated.
DEAD_LETTER_PAYLOAD_BYTES = 64 * 1024
Payload = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("topic", String(255), nullable=False),
    Column("original_topic", String(255), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("order_id", BigInteger, nullable=True),
    Column("reason", String(64), nullable=False),
    Column("detail", String(500), nullable=False, server_default=""),
    Column("payload", Payload, nullable=False),
    Column("payload_size", Integer, nullable=False),
    Column("content_type", String(100), nullable=False, server_default=""),
    Column("first_seen_at", UtcTime, nullable=False),
    Column("last_seen_at", UtcTime, nullable=False),
    Column("times_seen", Integer, nullable=False, server_default="1"),
    Column("discarded_at", UtcTime, nullable=True),
    UniqueConstraint("original_topic", "event_id"),
    Index(None, "first_seen_at"),
)

dead_letter_replays = Table(
    "dead_letter_replays",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dead_letter_id", Id, ForeignKey("dead_letters.id", ondelete="CASCADE"), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("replayed_by", String(255), nullable=False),
    Column("replayed_at", UtcTime, nullable=False),
    Column("outbox_event_id", String(36), nullable=False),
    UniqueConstraint("request_id", "dead_letter_id"),
    Index(None, "dead_letter_id"),
)
