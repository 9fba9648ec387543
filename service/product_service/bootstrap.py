"""The composition root: the only place that chooses concrete adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import Engine

from product_service.application.ports import (
    Clock,
    DistributedLock,
    NoLock,
    SystemClock,
    UnitOfWork,
)
from product_service.application.service import InventoryService
from product_service.infrastructure.dapr.lock import DaprLock
from product_service.infrastructure.dapr.publisher import DaprPublisher
from product_service.infrastructure.dapr.sidecar import Sidecar
from product_service.infrastructure.db.engine import build_engine
from product_service.infrastructure.db.outbox_store import SqlOutboxStore
from product_service.infrastructure.db.unit_of_work import uow_factory as sql_uow_factory
from product_service.infrastructure.event_codec import EventSerializer
from product_service.infrastructure.relay import OutboxRelay
from product_service.infrastructure.settings import Settings
from product_service.infrastructure.sweeper import OutboxSweeper
from product_service.infrastructure.telemetry import configure_tracing


@dataclass
class Application:
    settings: Settings
    inventory: InventoryService
    engine: Engine | None

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def bootstrap(
    settings: Settings,
    *,
    engine: Engine | None = None,
    uow_factory: Callable[[], UnitOfWork] | None = None,
    lock: DistributedLock | None = None,
    clock: Clock | None = None,
) -> Application:
    """Builds the application; tests pass in-memory adapters, production passes nothing."""
    if uow_factory is None:
        engine = engine or build_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        uow_factory = sql_uow_factory(engine, EventSerializer(settings.topics))
    inventory = InventoryService(
        uow_factory=uow_factory,
        limits=settings.order_limits,
        max_adjustment=settings.max_stock_adjustment,
        lock=lock or NoLock(),
        clock=clock or SystemClock(),
    )
    return Application(settings, inventory, engine)


@dataclass
class ServerRuntime:
    """The long-running service: the application plus its sidecar adapters and workers."""

    application: Application
    sidecar: Sidecar
    outbox: SqlOutboxStore
    relay: OutboxRelay
    sweeper: OutboxSweeper
    lock: DistributedLock
    tracing: TracerProvider | None = None

    def start_workers(self) -> None:
        self.relay.start()
        self.sweeper.start()

    def close(self) -> None:
        self.sweeper.stop()
        self.relay.stop()
        self.sidecar.close()
        self.application.close()
        if self.tracing is not None:
            self.tracing.shutdown()  # exports the spans still buffered


def bootstrap_server(settings: Settings) -> ServerRuntime:
    """Wires the Dapr adapters: publisher and relay, sweeper lease, per-order lock."""
    engine = build_engine(settings.database_url, pool_size=settings.database_pool_size)
    tracing = configure_tracing(
        settings.app_id, settings.otel_endpoint, settings.trace_root_sample_ratio, engine
    )
    sidecar = Sidecar(settings.dapr_call_timeout_seconds)
    clock = SystemClock()
    lock: DistributedLock = NoLock()
    lease: DistributedLock = NoLock()
    if settings.lock_store_name:
        store, owner, expiry = (
            settings.lock_store_name,
            settings.app_id,
            settings.lock_expiry_seconds,
        )
        lock = DaprLock(sidecar, store, owner, expiry, settings.lock_wait_seconds)
        lease = DaprLock(sidecar, store, owner, expiry, kind="sweeper_lease")
    outbox = SqlOutboxStore(engine)
    publisher = DaprPublisher(sidecar, settings.pubsub_name)
    relay = OutboxRelay(
        outbox,
        publisher,
        clock,
        batch_size=settings.relay_batch_size,
        bulk=settings.relay_bulk_publish,
        max_backoff_seconds=settings.relay_max_backoff_seconds,
        publish_delay_seconds=settings.relay_publish_delay_ms / 1000,
    )
    sweeper = OutboxSweeper(
        outbox,
        publisher,
        lease,
        relay,
        clock,
        interval_seconds=settings.sweep_interval_seconds,
        min_age_seconds=settings.sweep_min_age_seconds,
        batch_size=settings.relay_batch_size,
    )
    application = bootstrap(settings, engine=engine, lock=lock, clock=clock)
    application.inventory.notifier = relay
    if settings.bulk_order_locks:
        application.inventory.batch_lock = lock
    return ServerRuntime(application, sidecar, outbox, relay, sweeper, lock, tracing)
