"""How the app channel observes its work, written once for the subscriptions and the API.

`observed` wraps one delivery or call: admission (refused while shutting down), its span, its
metrics and the order id in the log context. `run_operation` and `run_batch` wrap the use case
inside it: a span, the transaction time and the outcome counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from product_service.application.deduct_batch import BatchAnswer
from product_service.application.results import OperationResult
from product_service.domain.commands import DeductInventory, RevertInventory
from product_service.infrastructure.logs import about_order
from product_service.infrastructure.metrics import DUPLICATES, OUTCOMES, TRANSACTION_SECONDS
from product_service.infrastructure.telemetry import statements_traced_in, tracer
from product_service.interfaces.grpc.intake import Intake

Answer = TypeVar("Answer")
Command = TypeVar("Command", DeductInventory, RevertInventory)


@dataclass(frozen=True)
class Arrival:
    """A delivery or a call as it arrives: the span it opens, continuing the caller's trace."""

    span_name: str
    kind: SpanKind
    parent: Context | None
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


class Work:
    """Handed to the work inside `observed`."""

    def __init__(self, span: Span) -> None:
        self._span = span

    def annotate(self, key: str, value: AttributeValue) -> None:
        self._span.set_attribute(key, value)

    @contextmanager
    def about_order(self, order_id: int) -> Iterator[None]:
        """Log lines written inside name the order; so does the span."""
        self._span.set_attribute("order.id", order_id)
        with about_order(order_id):
            yield


def observed(
    intake: Intake,
    arrival: Arrival,
    work: Callable[[Work], Answer],
    refused: Callable[[], Answer],
    record: Callable[[Answer, float], None],
) -> Answer:
    """Runs `work` in the arrival's span, or `refused` once shutdown has begun (nothing
    started: the sidecar or the caller tries again elsewhere); `record` counts the answer and
    the time it took."""
    started = time.perf_counter()
    with (
        intake.admit() as admitted,
        tracer().start_as_current_span(
            arrival.span_name,
            context=arrival.parent,
            kind=arrival.kind,
            attributes=dict(arrival.attributes),
        ) as span,
        statements_traced_in(span),
    ):
        answer = work(Work(span)) if admitted else refused()
    record(answer, time.perf_counter() - started)
    return answer


def run_operation(
    operation: str, command: Command, use_case: Callable[[Command], OperationResult]
) -> OperationResult:
    with tracer().start_as_current_span(
        f"inventory.{operation}", attributes={"order.id": command.order_id}
    ) as span:
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
