"""Deduct a batch of orders (one bulk delivery) in one transaction, each order all or nothing.

The batch reads the inbox and locks every SKU it touches once (ascending id, so concurrent
batches never deadlock), decides each order in memory against the locked stock, and writes the
stock, ledger, inbox and outbox rows with one statement each. A redelivered batch finds its
orders in the inbox and changes nothing.

When another writer (a replica, the API, a revert) recorded one of the orders meanwhile, the
batch statements fail on the inbox's unique key; the batch is then decided again order by
order, each in a savepoint of one transaction, so that one order cannot fail the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from product_service.application.deduct import (
    deduct_once,
    line_refusal,
    outcome_of,
    refusal,
)
from product_service.application.errors import ConcurrentOperation, DuplicateOperation
from product_service.application.idempotency import ATTEMPTS
from product_service.application.ports import (
    Clock,
    DistributedLock,
    NoNotifier,
    OutboxNotifier,
    UnitOfWork,
)
from product_service.application.results import OperationResult
from product_service.domain.commands import DeductInventory, OrderLimits
from product_service.domain.errors import DomainError
from product_service.domain.events import DeductedSku, InventoryDeducted, OutcomeEvent
from product_service.domain.model import (
    FailureReason,
    InboxRecord,
    LedgerKind,
    Operation,
    Sku,
    StockLedgerEntry,
)

# What each command of a batch came to: its result, or the error that decides its answer.
BatchAnswer = OperationResult | Exception


def deduct_batch(
    commands: Sequence[DeductInventory],
    uow: UnitOfWork,
    lock: DistributedLock,
    limits: OrderLimits,
    clock: Clock,
    notifier: OutboxNotifier | None = None,
) -> list[BatchAnswer]:
    """One answer per command, in order. Raises TransientError when the batch as a whole must
    be tried again (the database is unreachable)."""
    checked = [_validated(command, limits) for command in commands]
    first_of_order: dict[int, DeductInventory] = {}
    for command in checked:
        if isinstance(command, DeductInventory):
            first_of_order.setdefault(command.order_id, command)
    resources = {f"order-{order_id}": order_id for order_id in first_of_order}
    with lock.hold_many(list(resources)) as refused:
        held = [c for c in first_of_order.values() if f"order-{c.order_id}" not in refused]
        decided = _decide(held, uow, clock)
        for command in held:  # still under the orders' locks: publishing keeps commit order
            result = decided[command.order_id]
            if isinstance(result, OperationResult) and result.event is not None:
                (notifier or NoNotifier()).committed(result.event)
    decided.update({resources[resource]: exc for resource, exc in refused.items()})
    return _in_delivery_order(checked, decided)


def _validated(command: DeductInventory, limits: OrderLimits) -> DeductInventory | DomainError:
    try:
        return command.validated(limits)  # bad input never reaches the lock store
    except DomainError as exc:
        return exc


def _in_delivery_order(
    checked: Sequence[DeductInventory | DomainError], decided: Mapping[int, BatchAnswer]
) -> list[BatchAnswer]:
    """A later delivery of an order in the same batch is answered as its duplicate."""
    answers: list[BatchAnswer] = []
    seen: set[int] = set()
    for command in checked:
        if isinstance(command, DomainError):
            answers.append(command)
            continue
        answer = decided[command.order_id]
        if command.order_id in seen and isinstance(answer, OperationResult):
            answer = replace(answer, duplicate=True, event=None)
        seen.add(command.order_id)
        answers.append(answer)
    return answers


def _decide(
    commands: Sequence[DeductInventory], uow: UnitOfWork, clock: Clock
) -> dict[int, BatchAnswer]:
    if not commands:
        return {}
    try:
        return dict(decide_together(commands, uow, clock))
    except DuplicateOperation:  # someone else recorded one of these orders meanwhile
        return decide_one_by_one(commands, uow, clock)


def decide_together(
    commands: Sequence[DeductInventory], uow: UnitOfWork, clock: Clock
) -> dict[int, OperationResult]:
    """The fast path: a handful of statements for the whole batch, one commit."""
    with uow:
        recorded = uow.inbox.get_many([c.order_id for c in commands], Operation.DEDUCT)
        fresh = [c for c in commands if c.order_id not in recorded]
        book = StockBook(uow.skus.lock_many(line.sku_id for c in fresh for line in c.lines))
        now = clock.now()
        results: dict[int, OperationResult] = {}
        for command in fresh:
            event = book.deduct_all_or_nothing(command)
            outcome, reason = outcome_of(event)
            results[command.order_id] = OperationResult(
                command.order_id, outcome, reason, duplicate=False, event=event
            )
        uow.skus.deduct_many(book.taken)
        uow.ledger.append(book.ledger_entries(now))
        uow.inbox.add_many(  # by order id: concurrent batches meet on the unique key in order
            InboxRecord(c.order_id, Operation.DEDUCT, c.message_id, r.outcome, r.reason, now)
            for c in sorted(fresh, key=lambda c: c.order_id)
            for r in [results[c.order_id]]
        )
        uow.outbox.add_many([r.event for r in results.values() if r.event is not None], now)
        for command in commands:
            record = recorded.get(command.order_id)
            if record is None:
                continue
            if record.is_settled:
                results[command.order_id] = OperationResult.duplicate_of(record)
            else:  # reverted before its payment was processed: refused, decided singly
                results[command.order_id] = deduct_once(command, uow, clock)
        uow.commit()
    return {c.order_id: results[c.order_id] for c in commands}


def decide_one_by_one(
    commands: Sequence[DeductInventory], uow: UnitOfWork, clock: Clock
) -> dict[int, BatchAnswer]:
    """The careful path: one transaction, each order in its own savepoint."""
    with uow:
        # Lock every SKU first, in ascending order: later updates never wait in another order.
        uow.skus.lock_many(line.sku_id for c in commands for line in c.lines)
        results = {command.order_id: _decide_alone(command, uow, clock) for command in commands}
        uow.commit()
    return results


def _decide_alone(command: DeductInventory, uow: UnitOfWork, clock: Clock) -> BatchAnswer:
    """Like decide_once, in a savepoint: when a concurrent writer recorded the order first, its
    record decides (a duplicate), or, when that record is a revert's placeholder, the order is
    decided again and refused."""
    for _attempt in range(ATTEMPTS):
        try:
            with uow.savepoint():
                return deduct_once(command, uow, clock)
        except DuplicateOperation:
            record = uow.inbox.get(command.order_id, Operation.DEDUCT)
            if record is not None and record.is_settled:
                return OperationResult.duplicate_of(record)
    return ConcurrentOperation(f"order {command.order_id} kept changing under us; retry")


@dataclass
class StockBook:
    """The batch's SKUs, locked in the database, and what the batch has taken from them so far."""

    skus: dict[int, Sku]
    taken: dict[int, int] = field(default_factory=dict)  # SKU id -> units, whole batch
    _lines: list[tuple[int, int, int]] = field(default_factory=list)  # (order, SKU, units)

    def deduct_all_or_nothing(self, command: DeductInventory) -> OutcomeEvent:
        if any(
            line_refusal(line.sku_id, line.quantity, self.skus) is not FailureReason.NONE
            for line in command.lines
        ):
            return refusal(command, self.skus)
        for line in command.lines:
            sku = self.skus[line.sku_id]
            self.skus[line.sku_id] = replace(
                sku, stock=sku.stock - line.quantity, sales=sku.sales + line.quantity
            )
            self.taken[line.sku_id] = self.taken.get(line.sku_id, 0) + line.quantity
            self._lines.append((command.order_id, line.sku_id, line.quantity))
        return InventoryDeducted(
            command.order_id,
            tuple(
                DeductedSku(
                    line.sku_id,
                    line.quantity,
                    self.skus[line.sku_id].stock,
                    self.skus[line.sku_id].warn_threshold,
                )
                for line in command.lines
            ),
        )

    def ledger_entries(self, now: datetime) -> list[StockLedgerEntry]:
        return [
            StockLedgerEntry(sku_id, -units, LedgerKind.DEDUCT, now, order_id=order_id)
            for order_id, sku_id, units in self._lines
        ]
