"""Deduct and revert as interfaces run them: in a span, timed, counted, logs naming the order."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from product_service.application.deduct_batch import BatchAnswer
from product_service.application.results import OperationResult
from product_service.domain.commands import DeductInventory, RevertInventory
from product_service.infrastructure.logs import about_order
from product_service.infrastructure.metrics import DUPLICATES, OUTCOMES, TRANSACTION_SECONDS
from product_service.infrastructure.telemetry import tracer

Command = TypeVar("Command", DeductInventory, RevertInventory)


def run_operation(
    operation: str, command: Command, use_case: Callable[[Command], OperationResult]
) -> OperationResult:
    with (
        about_order(command.order_id),
        tracer().start_as_current_span(
            f"inventory.{operation}", attributes={"order.id": command.order_id}
        ) as span,
    ):
        started = time.perf_counter()
        try:
            result = use_case(command)
        finally:
            TRANSACTION_SECONDS.labels(operation).observe(time.perf_counter() - started)
        span.set_attribute("inventory.outcome", result.outcome.value)
        span.set_attribute("inventory.reason", result.reason.value)
        _count(operation, result)
        return result


def run_batch(
    operation: str,
    commands: Sequence[DeductInventory],
    use_case: Callable[[Sequence[DeductInventory]], list[BatchAnswer]],
) -> list[BatchAnswer]:
    """A bulk delivery's orders: one span and one transaction time, each outcome counted."""
    with tracer().start_as_current_span(
        f"inventory.{operation}_batch",
        attributes={
            "inventory.batch_size": len(commands),
            "order.ids": [command.order_id for command in commands],
        },
    ):
        started = time.perf_counter()
        try:
            answers = use_case(commands)
        finally:
            TRANSACTION_SECONDS.labels(operation).observe(time.perf_counter() - started)
    for answer in answers:
        if isinstance(answer, OperationResult):
            _count(operation, answer)
    return answers


def _count(operation: str, result: OperationResult) -> None:
    if result.duplicate:
        DUPLICATES.labels(operation).inc()
    else:
        OUTCOMES.labels(operation, result.outcome.value, result.reason.value).inc()
