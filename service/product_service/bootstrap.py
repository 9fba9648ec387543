"""The composition root: the only place that chooses concrete adapters.

`build_runtime` wires everything from settings; tests and benchmarks pass the adapters they
replace (`Adapters`). Nothing is changed after it returns. Interfaces take what they need from
the `Runtime`: the CLI its inventory, `serve` also the relay, sweeper, retention and sidecar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import Engine

from product_service import __version__
from product_service.application.dead_letters import DeadLetters, DeadLetterStore
from product_service.application.ports import (
    AlwaysHeld,
    Clock,
    DistributedLock,
    Lease,
    NoLock,
    SystemClock,
    UnitOfWork,
)
from product_service.application.service import InventoryService
from product_service.infrastructure import retention as retention_job
from product_service.infrastructure import sweeper as outbox_sweeper
from product_service.infrastructure.dapr.lease import DaprLease
from product_service.infrastructure.dapr.lock import DaprLock
from product_service.infrastructure.dapr.publisher import DaprPublisher
from product_service.infrastructure.dapr.sidecar import Sidecar
from product_service.infrastructure.db.dead_letter_store import SqlDeadLetterStore
from product_service.infrastructure.db.engine import build_engine, database_key
from product_service.infrastructure.db.outbox_store import SqlOutboxStore
from product_service.infrastructure.db.retention_store import RETAINED, SqlRetentionStore
from product_service.infrastructure.db.unit_of_work import uow_factory as sql_uow_factory
from product_service.infrastructure.legacy_codec import LegacySerializer
from product_service.infrastructure.outbox_codec import EventSerializer
from product_service.infrastructure.relay import OutboxRelay, Publisher
from product_service.infrastructure.retention import Policy, RetentionJob
from product_service.infrastructure.settings import Settings
from product_service.infrastructure.sweeper import OutboxSweeper
from product_service.infrastructure.telemetry import configure_tracing
from product_service.infrastructure.written_messages import WrittenMessages


@dataclass(frozen=True)
class Adapters:
    """Adapters that replace the ones the settings choose; None keeps the settings' choice."""

    engine: Engine | None = None
    uow_factory: Callable[[], UnitOfWork] | None = None  # e.g. in memory (its engine unused)
    clock: Clock | None = None
    lock: DistributedLock | None = None  # per-order lock
    lease: Lease | None = None  # the sweeper's lease
    retention_lease: Lease | None = None  # the retention job's lease
    publisher: Publisher | None = None
    dead_letter_store: DeadLetterStore | None = None


@dataclass(frozen=True)
class Locks:
    order: DistributedLock
    sweeper_lease: Lease
    retention_lease: Lease


@dataclass(frozen=True)
class Runtime:
    """The whole service: use cases, relay, sweeper, retention, sidecar; workers not started."""

    settings: Settings
    inventory: InventoryService
    dead_letters: DeadLetters
    engine: Engine
    outbox: SqlOutboxStore
    relay: OutboxRelay
    sweeper: OutboxSweeper
    retention: RetentionJob
    sidecar: Sidecar
    tracing: TracerProvider | None = None

    def start_workers(self) -> None:
        self.relay.start()
        self.sweeper.start()
        self.retention.start()

    def close(self) -> None:
        """Stops the workers (if started) and lets go of the sidecar and the database."""
        self.retention.stop()
        self.sweeper.stop()
        self.relay.stop()
        self.sidecar.close()
        self.engine.dispose()
        if self.tracing is not None:
            self.tracing.shutdown()  # exports the spans still buffered


def build_runtime(settings: Settings, adapters: Adapters | None = None) -> Runtime:
    given = adapters or Adapters()
    engine = given.engine or build_engine(
        settings.database_url, pool_size=settings.database_pool_size
    )
    tracing = configure_tracing(
        settings.app_id, settings.otel_endpoint, settings.trace_root_sample_ratio, engine
    )
    sidecar = Sidecar(settings.dapr_call_timeout_seconds)
    clock = given.clock or SystemClock()
    locks = _locks(settings, sidecar, given)
    outbox = SqlOutboxStore(engine)
    publisher = given.publisher or DaprPublisher(sidecar, settings.pubsub_name)
    written = WrittenMessages()
    relay = _relay(settings, outbox, publisher, clock, written)
    inventory = InventoryService(
        uow_factory=given.uow_factory or sql_uow_factory(engine, serializer(settings), written),
        limits=settings.order_limits,
        max_adjustment=settings.max_stock_adjustment,
        lock=locks.order,
        # Bulk deliveries are serialised by their locked SKU rows and the inbox key, so the
        # per-order lock is optional there.
        batch_lock=locks.order if settings.bulk_order_locks else NoLock(),
        clock=clock,
        notifier=relay,
    )
    dead_letters = DeadLetters(
        given.dead_letter_store or SqlDeadLetterStore(engine, _raw_topics(settings)), clock
    )
    sweeper = _sweeper(settings, outbox, publisher, locks.sweeper_lease, relay, clock)
    retention = _retention(settings, engine, locks.retention_lease, clock)
    return Runtime(
        settings,
        inventory,
        dead_letters,
        engine,
        outbox,
        relay,
        sweeper,
        retention,
        sidecar,
        tracing,
    )


def serializer(settings: Settings) -> EventSerializer:
    """The contract, and the legacy go-micro format when the bridge is on (PRODUCT_LEGACY_WIRE)."""
    era, topics = settings.legacy_era, settings.legacy_topics
    legacy = LegacySerializer(era, topics, settings.app_id, __version__) if era and topics else None
    return EventSerializer(settings.topics, legacy)


def _raw_topics(settings: Settings) -> frozenset[str]:
    """The input topics whose messages are raw go-micro records (their replays go out raw)."""
    legacy = settings.legacy_topics
    return frozenset({legacy.payment_succeeded, legacy.deduct_rejected} if legacy else ())


def _locks(settings: Settings, sidecar: Sidecar, given: Adapters) -> Locks:
    """The Dapr lock store when one is named (PRODUCT_LOCK_STORE_NAME), else no locks."""

    def dapr_lock(expiry_seconds: int, **options: Any) -> DaprLock:
        store, owner = settings.lock_store_name, settings.app_id
        return DaprLock(sidecar, store, owner, expiry_seconds, **options)

    def lease(resource: str, name: str) -> Lease:
        """One lease per database: its sweeper or retention job runs on one replica at a time."""
        if not settings.lock_store_name:
            return AlwaysHeld()
        lock = dapr_lock(settings.lease_seconds, kind=f"{name}_lease")
        return DaprLease(lock, f"{resource}-{database_key(settings.database_url)}", name)

    order_lock: DistributedLock = NoLock()
    if settings.lock_store_name:
        wait = settings.lock_wait_seconds
        order_lock = dapr_lock(settings.lock_expiry_seconds, wait_seconds=wait)
    return Locks(
        given.lock or order_lock,
        given.lease or lease(outbox_sweeper.LEASE, "sweeper"),
        given.retention_lease or lease(retention_job.LEASE, "retention"),
    )


def _relay(
    settings: Settings,
    outbox: SqlOutboxStore,
    publisher: Publisher,
    clock: Clock,
    written: WrittenMessages,
) -> OutboxRelay:
    return OutboxRelay(
        outbox,
        publisher,
        clock,
        written=written,
        batch_size=settings.relay_batch_size,
        bulk=settings.relay_bulk_publish,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
        publish_delay_seconds=settings.relay_publish_delay_ms / 1000,
    )


def _sweeper(
    settings: Settings,
    outbox: SqlOutboxStore,
    publisher: Publisher,
    lease: Lease,
    relay: OutboxRelay,
    clock: Clock,
) -> OutboxSweeper:
    return OutboxSweeper(
        outbox,
        publisher,
        lease,
        relay,
        clock,
        interval_seconds=settings.sweep_interval_seconds,
        min_age_seconds=settings.sweep_min_age_seconds,
        batch_size=settings.relay_batch_size,
    )


def _retention(settings: Settings, engine: Engine, lease: Lease, clock: Clock) -> RetentionJob:
    return RetentionJob(
        SqlRetentionStore(engine),
        lease,
        clock,
        [Policy(retained, getattr(settings, retained.setting)) for retained in RETAINED],
        interval_seconds=settings.retention_interval.total_seconds(),
        batch_size=settings.retention_batch_size,
        # A held lease has at least half its term left (dapr/lease.py): a pass ends before it.
        budget_seconds=settings.lease_seconds / 2,
    )
