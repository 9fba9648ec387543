"""Once per (order, operation): a decision commits, or reports the outcome recorded first."""

from __future__ import annotations

from collections.abc import Callable

from product_service.application.errors import ConcurrentOperation, DuplicateOperation
from product_service.application.ports import (
    DistributedLock,
    NoNotifier,
    OutboxNotifier,
    UnitOfWork,
)
from product_service.application.results import OperationResult
from product_service.domain.model import InboxRecord, Operation

ATTEMPTS = 3


def decide_once(
    uow: UnitOfWork,
    lock: DistributedLock,
    order_id: int,
    operation: Operation,
    decide: Callable[[], OperationResult],
    notifier: OutboxNotifier | None = None,
) -> OperationResult:
    """Runs `decide` in one transaction under the order's lock and commits it (see
    `until_settled` for a concurrent writer that recorded the operation first)."""

    def in_a_transaction() -> OperationResult:
        with uow:
            result = decide()
            uow.commit()
        return result

    def recorded() -> InboxRecord | None:
        with uow:
            return uow.inbox.get(order_id, operation)

    with lock.hold(f"order-{order_id}"):
        result = until_settled(in_a_transaction, recorded, order_id, operation)
        # Still under the order's lock: the next operation on this order is queued for
        # publishing after this one, so an order's events keep their order.
        if result.event is not None:
            (notifier or NoNotifier()).committed(result.event)
        return result


def until_settled(
    attempt: Callable[[], OperationResult],
    recorded: Callable[[], InboxRecord | None],
    order_id: int,
    operation: Operation,
) -> OperationResult:
    """`attempt()` (which rolls its writes back when it raises) until it returns.

    When a concurrent writer recorded the same operation first, this one reports that outcome.
    When what it found is not an outcome yet (a revert preempted this deduct and committed
    meanwhile), it tries again: the refusal must still be recorded and published.
    """
    for _attempt in range(ATTEMPTS):
        try:
            return attempt()
        except DuplicateOperation:
            record = recorded()
            if record is not None and record.is_settled:
                return OperationResult.duplicate_of(record)
    raise ConcurrentOperation(f"order {order_id} {operation.value} kept changing under us; retry")
