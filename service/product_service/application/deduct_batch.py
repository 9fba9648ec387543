"""Deduct a batch of orders (one bulk delivery) in one transaction, each order all or nothing.

The batch goes through the one write protocol (`deduct.write_deductions`). A redelivered batch
finds its orders in the inbox and changes nothing. When another writer (a replica, the API, a
revert) recorded one of the orders meanwhile, the batch's inbox insert fails on the unique key;
the batch is then decided again order by order, each a batch of one in a savepoint of one
transaction, so that one order cannot fail the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from product_service.application.deduct import write_deductions
from product_service.application.errors import ConcurrentOperation, DuplicateOperation
from product_service.application.idempotency import until_settled
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
from product_service.domain.model import Operation

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
    """The fast path: the write protocol for the whole batch, one commit."""
    with uow:
        results = write_deductions(commands, uow, clock)
        uow.commit()
    return results


def decide_one_by_one(
    commands: Sequence[DeductInventory], uow: UnitOfWork, clock: Clock
) -> dict[int, BatchAnswer]:
    """The careful path: one transaction, each order a batch of one in its own savepoint."""
    with uow:
        # Lock every SKU first, in ascending order: later updates never wait in another order.
        uow.skus.lock_many(line.sku_id for c in commands for line in c.lines)
        results = {command.order_id: _decide_alone(command, uow, clock) for command in commands}
        uow.commit()
    return results


def _decide_alone(command: DeductInventory, uow: UnitOfWork, clock: Clock) -> BatchAnswer:
    def in_a_savepoint() -> OperationResult:
        with uow.savepoint():
            return write_deductions([command], uow, clock)[command.order_id]

    try:
        return until_settled(
            in_a_savepoint,
            lambda: uow.inbox.get(command.order_id, Operation.DEDUCT),
            command.order_id,
            Operation.DEDUCT,
        )
    except ConcurrentOperation as exc:
        return exc
