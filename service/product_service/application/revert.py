"""Revert an order's deduction: give back exactly what the ledger says it took, once.

The deduction's write protocol (see deduct.py): read the order's inbox rows, lock the SKU rows
its deduction took from (ascending id), decide in memory (`StockBook.give_back`), then write
stock, ledger, inbox and outbox. A revert that finds no deduction takes the order's deduct slot
(PREEMPTED), so a payment arriving later is refused; a deduction that committed meanwhile makes
that insert fail on the inbox's unique key, and the revert is decided again.
"""

from __future__ import annotations

from datetime import datetime

from product_service.application.idempotency import decide_once
from product_service.application.ports import (
    Clock,
    DistributedLock,
    OutboxNotifier,
    UnitOfWork,
)
from product_service.application.results import OperationResult
from product_service.domain.commands import RevertInventory
from product_service.domain.model import (
    FailureReason,
    InboxRecord,
    Operation,
    Outcome,
)
from product_service.domain.stock_book import StockBook


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
    deduction = uow.inbox.get(command.order_id, Operation.DEDUCT)
    deducted = _deducted(command.order_id, deduction, uow)
    book = StockBook(uow.skus.lock_many(deducted))
    event = book.give_back(command.order_id, deducted, command.dialect)
    now = clock.now()
    records = [_record(command, Operation.REVERT, Outcome.SUCCEEDED, now)]
    if deduction is None:  # taken so that a payment arriving later is refused
        records.append(_record(command, Operation.DEDUCT, Outcome.PREEMPTED, now))
    uow.skus.take_many(book.taken)
    uow.ledger.append(book.ledger_entries(now))
    uow.inbox.add_many(records)  # DuplicateOperation when a writer recorded either first
    uow.outbox.add(event, now)
    return OperationResult(
        command.order_id, Outcome.SUCCEEDED, FailureReason.NONE, duplicate=False, event=event
    )


def _deducted(order_id: int, deduction: InboxRecord | None, uow: UnitOfWork) -> dict[int, int]:
    """What the order's deduction took, by SKU id; nothing if it failed or never ran."""
    if deduction is None or deduction.outcome is not Outcome.SUCCEEDED:
        return {}
    return uow.ledger.deducted_by_order(order_id)


def _record(
    command: RevertInventory, operation: Operation, outcome: Outcome, now: datetime
) -> InboxRecord:
    reason = FailureReason.ORDER_REVERTED if outcome is Outcome.PREEMPTED else FailureReason.NONE
    return InboxRecord(command.order_id, operation, command.message_id, outcome, reason, now)
