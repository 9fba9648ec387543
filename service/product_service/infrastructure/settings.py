"""All configuration in one validated object; environment variables use the PRODUCT_ prefix."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import timedelta
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from product_service.contract.legacy_wire import TOPICS_OF_ERA, Era, LegacyTopics
from product_service.contract.topics import Topics
from product_service.domain.commands import OrderLimits
from product_service.domain.limits import MAX_UNITS
from product_service.infrastructure.durations import Duration, format_duration

CONTRACT_TOPICS = Topics()

SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "mysql+pymysql", "mariadb+pymysql")
DEFAULT_DATABASE_URL = "sqlite:///.local/product-service.db"
MIN_TOKEN_LENGTH = 16


class Settings(BaseSettings):
    """Defaults run the embedded profile: SQLite in .local/, no configuration needed."""

    model_config = SettingsConfigDict(env_prefix="PRODUCT_", env_file=None, extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path or mysql+pymysql://user:pass@host:port/db",
    )
    database_pool_size: int = Field(10, ge=1, le=200)
    max_order_lines: int = Field(100, ge=1, le=10_000)
    max_line_quantity: int = Field(10_000, ge=1, le=MAX_UNITS)
    max_stock_adjustment: int = Field(1_000_000, ge=1, le=MAX_UNITS)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = Field("json", description="`serve` log lines")
    otel_endpoint: str | None = Field(
        None, description="OTLP gRPC endpoint for the app's spans, e.g. http://127.0.0.1:4317"
    )
    trace_root_sample_ratio: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Sampling of traces the app starts itself (others follow the sidecar)",
    )

    pubsub_name: str = "pubsub"
    lock_store_name: str = Field(
        "lockstore", description="Dapr lock store for per-order locks; empty: no lock store"
    )
    lock_expiry_seconds: int = Field(30, ge=1, le=3600)
    lease_seconds: int = Field(
        30,
        ge=2,
        le=3600,
        description="Term of the sweeper's and retention's lease: when its holder dies, another"
        " replica takes over within this",
    )
    lock_wait_seconds: float = Field(
        1.0, ge=0, le=60, description="How long to wait for a held order lock before RETRY"
    )
    # The contract's topic names (contract/topics.py) unless renamed.
    topic_payment_succeeded: str = CONTRACT_TOPICS.payment_succeeded
    topic_deduct_succeeded: str = CONTRACT_TOPICS.deduct_succeeded
    topic_deduct_failed: str = CONTRACT_TOPICS.deduct_failed
    topic_deduct_rejected: str = CONTRACT_TOPICS.deduct_rejected
    topic_reverted: str = CONTRACT_TOPICS.reverted
    dead_letter_suffix: str = Field(
        ".dead-letter", description="Dead-letter topic of each subscription: topic + suffix"
    )
    # The legacy bridge (docs/migration.md): the Go order service's go-micro format on its own
    # topics, beside the contract. Unset topics take the era's names (contract/legacy_wire.py).
    legacy_wire: Literal["off", "v7", "bare"] = Field(
        "off", description="Also speak the go-micro format of this Go order service era"
    )
    legacy_topic_payment_succeeded: str | None = Field(None, description="Paid orders, in")
    legacy_topic_deduct_succeeded: str | None = Field(None, description="Deductions, out")
    legacy_topic_deduct_refused: str | None = Field(
        None, description="Refusals, out: where the order service reverts the payment"
    )
    legacy_topic_deduct_rejected: str | None = Field(
        None, description="Our successes the order service sent back, in: compensation"
    )

    app_id: str = "product-service"
    app_api_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("APP_API_TOKEN", "PRODUCT_APP_API_TOKEN"),
        description="Token daprd sends on the app channel (Dapr's APP_API_TOKEN); set: required",
    )
    grpc_port: int = Field(50051, ge=1, le=65535, description="Dapr app channel (gRPC)")
    grpc_workers: int = Field(16, ge=1, le=256)
    thread_switch_interval_ms: float | None = Field(
        1.0, gt=0, le=100, description="Python's thread switch interval in `serve` (Python: 5)"
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535, description="healthz, readyz, operator views")
    http_token: SecretStr | None = Field(
        None,
        description="Bearer token of the HTTP operator views and actions; unset: read-only "
        "views on a loopback listener only (interfaces/operator_access.py)",
    )
    dapr_call_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Deadline of each sidecar call; above its publish retries"
    )
    max_message_bytes: int = Field(
        64 * 1024,
        ge=1024,
        le=1_000_000,
        description="Larger messages and API requests are refused (TOO_LARGE) before parsing",
    )
    dead_letter_patience_seconds: float = Field(
        600,
        ge=0,
        le=3600,
        description="How long a dead letter waits for the database to be recorded (it is lost "
        "from the records, not from the topic, if the database stays down longer)",
    )
    bulk_subscribe: bool = Field(
        True, description="Payments arrive in bulk deliveries, one transaction per delivery"
    )
    bulk_max_messages: int = Field(100, ge=1, le=1000, description="Entries per bulk delivery")
    bulk_max_await_ms: int = Field(
        20, ge=1, le=10_000, description="How long the sidecar gathers a bulk delivery"
    )
    bulk_order_locks: bool = Field(
        False,
        description="Take the Dapr lock of every order of a bulk delivery too (costs two "
        "sidecar calls per order; correctness comes from the database either way)",
    )
    relay_batch_size: int = Field(500, ge=1, le=10_000)
    relay_bulk_publish: bool = Field(
        True, description="Publish each run of events on one topic in one bulk call"
    )
    relay_max_backoff_seconds: float = Field(5.0, gt=0, le=300)
    relay_publish_delay_ms: int = Field(
        0, ge=0, le=600_000, description="Test hook: wait between commit and normal publish"
    )
    sweep_interval_seconds: float = Field(5.0, gt=0, le=3600)
    sweep_min_age_seconds: float = Field(
        30.0, ge=0, le=3600, description="Rows younger than this are the relay's, not abandoned"
    )
    shutdown_grace_seconds: float = Field(20.0, gt=0, le=600)

    # Retention (infrastructure/retention.py). Durations: 7d, 12h, 1d12h, 90m, seconds, P7D.
    outbox_retention: Duration = Field(timedelta(days=7), description="Published outbox rows")
    inbox_retention: Duration = Field(
        timedelta(days=30), description="Inbox rows: the record that makes a redelivery a no-op"
    )
    dead_letter_retention: Duration = Field(timedelta(days=14), description="Dead-letter records")
    broker_retention: Duration = Field(
        timedelta(days=7),
        description="How long the broker keeps messages (Kafka's log.retention.hours=168)",
    )
    redelivery_horizon: Duration = Field(
        timedelta(minutes=15),
        description="Longest the sidecar keeps redelivering one message (the resiliency "
        "policy's inbound retries: about 3.4 minutes, 5 at most with jitter)",
    )
    retention_interval: Duration = Field(timedelta(minutes=10), description="Between passes")
    retention_batch_size: int = Field(
        500, ge=1, le=10_000, description="Rows per DELETE, one transaction each"
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        expected = "use sqlite:///<path> or mysql+pymysql://user:password@host:port/database"
        try:
            parsed = make_url(url)
            parsed.port  # noqa: B018 -- parsing the port is what raises for "host:notaport"
        except (ArgumentError, ValueError) as exc:
            raise ValueError(f"not a database URL ({exc}); {expected}") from None
        if parsed.drivername not in SUPPORTED_DRIVERS:
            raise ValueError(f"unsupported driver {parsed.drivername!r}; {expected}")
        if not parsed.database:
            raise ValueError(f"the URL names no database; {expected}")
        return url

    @field_validator("http_token")
    @classmethod
    def _guessable_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value().strip()) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"shorter than {MIN_TOKEN_LENGTH} characters: use a random token "
                "(e.g. `openssl rand -hex 32`), or leave the variable unset"
            )
        return token

    @model_validator(mode="after")
    def _inbox_outlives_redeliveries(self) -> Settings:
        """The inbox is the idempotency record: while a copy of a message can still arrive
        (the broker keeps it, or a dead letter of it can be replayed, then the sidecar retries
        it), the order's inbox row must still be there, or the copy would deduct again."""
        replayable = max(self.broker_retention, self.dead_letter_retention)
        needed = replayable + self.redelivery_horizon
        if self.inbox_retention <= needed:
            raise ValueError(
                f"PRODUCT_INBOX_RETENTION ({format_duration(self.inbox_retention)}) must exceed "
                f"max(PRODUCT_BROKER_RETENTION {format_duration(self.broker_retention)}, "
                f"PRODUCT_DEAD_LETTER_RETENTION {format_duration(self.dead_letter_retention)}) "
                f"+ PRODUCT_REDELIVERY_HORIZON {format_duration(self.redelivery_horizon)} "
                f"= {format_duration(needed)}: the inbox is what makes a redelivered or "
                "replayed message change nothing, and a copy arriving after its order's inbox "
                f"row was deleted would deduct a second time. Set PRODUCT_INBOX_RETENTION above "
                f"{format_duration(needed)}, or lower PRODUCT_DEAD_LETTER_RETENTION (or "
                "PRODUCT_BROKER_RETENTION, if the broker really keeps messages for less)"
            )
        return self

    @model_validator(mode="after")
    def _one_format_per_topic(self) -> Settings:
        """A topic carries CloudEvents or the go-micro format, never both: a consumer of either
        would take the other's records for poison. The Go service's names are fixed, so the
        contract's topic is the one to rename."""
        if self.legacy_topics is None:
            return self
        legacy, contract = self._legacy_topic_settings(), self._contract_topic_settings()
        clashes = [
            f"{name}={topic} is also {other}"
            for name, topic in legacy.items()
            for other, theirs in contract.items()
            if topic == theirs
        ]
        if clashes:
            raise ValueError(
                f"PRODUCT_LEGACY_WIRE={self.legacy_wire}: {'; '.join(clashes)}. A topic carries "
                "CloudEvents or the go-micro format, not both: rename the contract's topic "
                "(the PRODUCT_TOPIC_* setting named; the Go order service's names are fixed)"
            )
        _each_topic_once(legacy)
        return self

    def _contract_topic_settings(self) -> dict[str, str]:
        """Each contract topic, and each dead-letter topic of a contract subscription, by the
        setting that names it."""
        topics = {
            f"PRODUCT_TOPIC_{field.name.upper()}": getattr(self.topics, field.name)
            for field in fields(Topics)
        }
        return topics | _dead_letters_of(
            topics, ("PRODUCT_TOPIC_PAYMENT_SUCCEEDED", "PRODUCT_TOPIC_DEDUCT_REJECTED"), self
        )

    def _legacy_topic_settings(self) -> dict[str, str]:
        legacy = self.legacy_topics
        assert legacy is not None
        topics = {
            f"PRODUCT_LEGACY_TOPIC_{field.name.upper()}": getattr(legacy, field.name)
            for field in fields(LegacyTopics)
        }
        inputs = ("PRODUCT_LEGACY_TOPIC_PAYMENT_SUCCEEDED", "PRODUCT_LEGACY_TOPIC_DEDUCT_REJECTED")
        return topics | _dead_letters_of(topics, inputs, self)

    @property
    def legacy_era(self) -> Era | None:
        return None if self.legacy_wire == "off" else Era(self.legacy_wire)

    @property
    def legacy_topics(self) -> LegacyTopics | None:
        """The legacy bridge's topics, or None when it is off."""
        if self.legacy_era is None:
            return None
        named = {
            field.name: value
            for field in fields(LegacyTopics)
            if (value := getattr(self, f"legacy_topic_{field.name}"))
        }
        return replace(TOPICS_OF_ERA[self.legacy_era], **named)

    @property
    def order_limits(self) -> OrderLimits:
        return OrderLimits(max_lines=self.max_order_lines, max_quantity=self.max_line_quantity)

    @property
    def topics(self) -> Topics:
        return Topics(
            payment_succeeded=self.topic_payment_succeeded,
            deduct_succeeded=self.topic_deduct_succeeded,
            deduct_failed=self.topic_deduct_failed,
            deduct_rejected=self.topic_deduct_rejected,
            reverted=self.topic_reverted,
        )

    def dead_letter_topic(self, topic: str) -> str:
        return topic + self.dead_letter_suffix

    def safe_database_url(self) -> str:
        """The database URL with its password masked, for logs and messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)


def _dead_letters_of(
    topics: dict[str, str], subscribed: tuple[str, ...], settings: Settings
) -> dict[str, str]:
    return {
        f"{name} + PRODUCT_DEAD_LETTER_SUFFIX": settings.dead_letter_topic(topics[name])
        for name in subscribed
    }


def _each_topic_once(named: dict[str, str]) -> None:
    """Each legacy topic has one role: the same name twice is a mistake in the settings."""
    first: dict[str, str] = {}
    for name, topic in named.items():
        if topic in first:
            raise ValueError(f"{name}={topic} is also {first[topic]}: rename one of them")
        first[topic] = name
