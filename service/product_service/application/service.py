"""The application as interfaces see it: every use case bound to its adapters and limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from product_service.application import deduct, deduct_batch, queries, revert, stock
from product_service.application.deduct_batch import BatchAnswer
from product_service.application.ports import (
    Clock,
    DistributedLock,
    NoLock,
    NoNotifier,
    OutboxNotifier,
    SystemClock,
    UnitOfWork,
)
from product_service.application.results import OperationResult, ThresholdStatus
from product_service.domain.commands import (
    AdjustStock,
    CreateProduct,
    DeductInventory,
    OrderLimits,
    RevertInventory,
)
from product_service.domain.model import InboxRecord, Product, Sku


@dataclass
class InventoryService:
    uow_factory: Callable[[], UnitOfWork]
    limits: OrderLimits = field(default_factory=OrderLimits)
    max_adjustment: int = 1_000_000
    lock: DistributedLock = field(default_factory=NoLock)
    # Bulk deliveries: their orders are serialised by the locked SKU rows and the inbox key, so
    # the per-order lock is optional there (PRODUCT_BULK_ORDER_LOCKS).
    batch_lock: DistributedLock = field(default_factory=NoLock)
    clock: Clock = field(default_factory=SystemClock)
    notifier: OutboxNotifier = field(default_factory=NoNotifier)

    def deduct(self, command: DeductInventory) -> OperationResult:
        return deduct.deduct_inventory(
            command, self.uow_factory(), self.lock, self.limits, self.clock, self.notifier
        )

    def deduct_batch(self, commands: Sequence[DeductInventory]) -> list[BatchAnswer]:
        return deduct_batch.deduct_batch(
            commands, self.uow_factory(), self.batch_lock, self.limits, self.clock, self.notifier
        )

    def revert(self, command: RevertInventory) -> OperationResult:
        return revert.revert_inventory(
            command, self.uow_factory(), self.lock, self.clock, self.notifier
        )

    def adjust(self, command: AdjustStock) -> Sku:
        return stock.adjust_stock(command, self.uow_factory(), self.max_adjustment, self.clock)

    def create_product(self, command: CreateProduct) -> Product:
        return stock.create_product(command, self.uow_factory(), self.clock)

    def sku(self, sku_id: int) -> Sku:
        return queries.get_sku(sku_id, self.uow_factory())

    def product(self, product_id: int) -> Product:
        return queries.get_product(product_id, self.uow_factory())

    def stock_by_code(self, code: str) -> Sku:
        return queries.stock_by_code(code, self.uow_factory())

    def check_thresholds(self, sku_ids: Sequence[int]) -> list[ThresholdStatus]:
        return queries.check_thresholds(sku_ids, self.uow_factory())

    def order_record(self, order_id: int) -> list[InboxRecord]:
        return queries.order_record(order_id, self.uow_factory())

    def ledger_mismatches(self) -> dict[int, tuple[int, int]]:
        return queries.ledger_mismatches(self.uow_factory())
