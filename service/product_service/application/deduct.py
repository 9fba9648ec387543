"""Deduct orders' stock: all lines or none, once per order whatever the deliveries.

One write protocol for one order and for a batch (a single order is a batch of one): read the
orders' inbox rows, lock every SKU row they touch once (ascending id, so concurrent writers
never deadlock), decide each order in memory in delivery order (`domain.stock_book`), then
write stock, ledger, inbox and outbox with one statement each. A writer that recorded one of
the orders meanwhile (a replica, the API, a revert) makes the inbox insert fail on its unique
key: the caller decides again (`idempotency.until_settled`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from product_service.application.errors import DuplicateOperation
from product_service.application.idempotency import decide_once
from product_service.application.ports import (
    Clock,
    DistributedLock,
    OutboxNotifier,
    UnitOfWork,
)
from product_service.application.results import OperationResult
from product_service.domain.commands import DeductInventory, OrderLimits
from product_service.domain.events import InventoryDeductFailed, OutcomeEvent
from product_service.domain.model import FailureReason, InboxRecord, Operation, Outcome
from product_service.domain.stock_book import StockBook


def deduct_inventory(
    command: DeductInventory,
    uow: UnitOfWork,
    lock: DistributedLock,
    limits: OrderLimits,
    clock: Clock,
    notifier: OutboxNotifier | None = None,
) -> OperationResult:
    command = command.validated(limits)  # bad input never reaches the lock store
    return decide_once(
        uow,
        lock,
        command.order_id,
        Operation.DEDUCT,
        lambda: write_deductions([command], uow, clock)[command.order_id],
        notifier,
    )


def write_deductions(
    commands: Sequence[DeductInventory], uow: UnitOfWork, clock: Clock
) -> dict[int, OperationResult]:
    """Decides and writes `commands` (one per order) in the caller's transaction.

    Raises DuplicateOperation when another writer recorded one of the orders meanwhile."""
    recorded = uow.inbox.get_many([c.order_id for c in commands], Operation.DEDUCT)
    undecided = [c for c in commands if not _settled(recorded.get(c.order_id))]
    book = StockBook(uow.skus.lock_many(line.sku_id for c in undecided for line in c.lines))
    now = clock.now()
    # In delivery order: each decision sees the stock the earlier ones left.
    results = {c.order_id: _decide(c, recorded.get(c.order_id), book) for c in commands}
    records = {c.order_id: _record(c, results[c.order_id], now) for c in undecided}
    fresh = [records[c.order_id] for c in undecided if c.order_id not in recorded]
    preempted = [records[c.order_id] for c in undecided if c.order_id in recorded]
    events = [r.event for r in results.values() if r.event is not None]
    _write(uow, book, fresh, preempted, events, now)
    return results


def _decide(
    command: DeductInventory, record: InboxRecord | None, book: StockBook
) -> OperationResult:
    if record is not None and record.is_settled:
        return OperationResult.duplicate_of(record)
    if record is None:
        event: OutcomeEvent = book.decide(command)
    else:  # a revert came first and took the order's deduct slot
        event = book.refuse(command, FailureReason.ORDER_REVERTED)
    outcome, reason = _outcome_of(event)
    return OperationResult(command.order_id, outcome, reason, duplicate=False, event=event)


def _write(
    uow: UnitOfWork,
    book: StockBook,
    fresh: list[InboxRecord],
    preempted: list[InboxRecord],
    events: list[OutcomeEvent],
    now: datetime,
) -> None:
    uow.skus.take_many(book.taken)
    uow.ledger.append(book.ledger_entries(now))
    # By order id: concurrent writers meet on the inbox's unique key in one order.
    uow.inbox.add_many(sorted(fresh, key=lambda r: r.order_id))
    for record in preempted:
        if not uow.inbox.transition(Outcome.PREEMPTED, record):
            raise DuplicateOperation(f"order {record.order_id} was settled concurrently")
    uow.outbox.add_many(events, now)


def _settled(record: InboxRecord | None) -> bool:
    return record is not None and record.is_settled


def _record(command: DeductInventory, result: OperationResult, now: datetime) -> InboxRecord:
    order_id, message_id = command.order_id, command.message_id
    return InboxRecord(order_id, Operation.DEDUCT, message_id, result.outcome, result.reason, now)


def _outcome_of(event: OutcomeEvent) -> tuple[Outcome, FailureReason]:
    if isinstance(event, InventoryDeductFailed):
        return Outcome.FAILED, event.reason
    return Outcome.SUCCEEDED, FailureReason.NONE
