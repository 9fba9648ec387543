"""Revert an order's deduction: give back exactly what the ledger says it took, once."""

from __future__ import annotations

from datetime import datetime

from product_service.application.errors import ConcurrentOperation, DuplicateOperation
from product_service.application.idempotency import decide_once
from product_service.application.ports import (
    Clock,
    DistributedLock,
    OutboxNotifier,
    UnitOfWork,
)
from product_service.application.results import OperationResult
from product_service.domain.commands import RevertInventory
from product_service.domain.events import InventoryReverted, RevertedSku
from product_service.domain.model import (
    FailureReason,
    InboxRecord,
    LedgerKind,
    Operation,
    Outcome,
    StockLedgerEntry,
)


def revert_inventory(
    command: RevertInventory,
    uow: UnitOfWork,
    lock: DistributedLock,
    clock: Clock,
    notifier: OutboxNotifier | None = None,
) -> OperationResult:
    command = command.validated()
    return decide_once(
        uow,
        lock,
        command.order_id,
        Operation.REVERT,
        lambda: _revert_once(command, uow, clock),
        notifier,
    )


def _revert_once(command: RevertInventory, uow: UnitOfWork, clock: Clock) -> OperationResult:
    previous = uow.inbox.get(command.order_id, Operation.REVERT)
    if previous is not None:
        return OperationResult.duplicate_of(previous)
    now = clock.now()
    uow.inbox.add(_record(command, Operation.REVERT, Outcome.SUCCEEDED, now))
    deduction = uow.inbox.get(command.order_id, Operation.DEDUCT)
    released: tuple[RevertedSku, ...] = ()
    if deduction is None:
        _preempt_deduction(command, uow, now)
    elif deduction.outcome is Outcome.SUCCEEDED:
        released = _release(command.order_id, uow, now)
    event = InventoryReverted(command.order_id, released)
    uow.outbox.add(event, now)
    return OperationResult(
        command.order_id, Outcome.SUCCEEDED, FailureReason.NONE, duplicate=False, event=event
    )


def _preempt_deduction(command: RevertInventory, uow: UnitOfWork, now: datetime) -> None:
    """Takes the order's deduct slot so that a later payment event is refused."""
    try:
        uow.inbox.add(_record(command, Operation.DEDUCT, Outcome.PREEMPTED, now))
    except DuplicateOperation as exc:
        # The deduction committed while we looked: retry and revert what it took.
        raise ConcurrentOperation(f"order {command.order_id} was deducted concurrently") from exc


def _release(order_id: int, uow: UnitOfWork, now: datetime) -> tuple[RevertedSku, ...]:
    deducted = uow.ledger.deducted_by_order(order_id)
    for sku_id, quantity in deducted.items():
        uow.skus.release(sku_id, quantity)
    uow.ledger.append(
        StockLedgerEntry(sku_id, quantity, LedgerKind.REVERT, now, order_id=order_id)
        for sku_id, quantity in deducted.items()
    )
    after = uow.skus.get_many(deducted)
    return tuple(RevertedSku(sku_id, q, after[sku_id].stock) for sku_id, q in deducted.items())


def _record(
    command: RevertInventory, operation: Operation, outcome: Outcome, now: datetime
) -> InboxRecord:
    reason = FailureReason.ORDER_REVERTED if outcome is Outcome.PREEMPTED else FailureReason.NONE
    return InboxRecord(command.order_id, operation, command.message_id, outcome, reason, now)
