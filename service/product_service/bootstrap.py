"""The composition root: the only place that chooses concrete adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from product_service.application.ports import (
    Clock,
    DistributedLock,
    NoLock,
    SystemClock,
    UnitOfWork,
)
from product_service.application.service import InventoryService
from product_service.infrastructure.db.engine import build_engine
from product_service.infrastructure.db.unit_of_work import uow_factory as sql_uow_factory
from product_service.infrastructure.event_codec import EventSerializer
from product_service.infrastructure.settings import Settings


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
