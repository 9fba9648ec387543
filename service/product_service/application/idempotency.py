"""Once per (order, operation): a decision commits, or reports the outcome recorded first."""

from __future__ import annotations

from collections.abc import Callable

from product_service.application.errors import DuplicateOperation
from product_service.application.ports import UnitOfWork
from product_service.application.results import OperationResult
from product_service.domain.model import Operation


def decide_once(
    uow: UnitOfWork, order_id: int, operation: Operation, decide: Callable[[], OperationResult]
) -> OperationResult:
    """Runs `decide` in one transaction and commits it. When a concurrent delivery recorded the
    same operation first, the transaction is rolled back and that delivery's outcome returned."""
    try:
        with uow:
            result = decide()
            uow.commit()
            return result
    except DuplicateOperation:
        with uow:
            record = uow.inbox.get(order_id, operation)
        assert record is not None, "a duplicate must have left its inbox record"
        return OperationResult.duplicate_of(record)
