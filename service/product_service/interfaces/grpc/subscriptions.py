"""Topic subscriptions: each delivery runs one use case and answers SUCCESS, DROP or RETRY."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cloudevents.sdk.event import v1
from dapr.ext.grpc import App, TopicEventResponse
from opentelemetry.trace import SpanKind

from product_service.application.deduct_batch import BatchAnswer
from product_service.application.errors import StoreRejected, TransientError
from product_service.application.results import OperationResult
from product_service.application.service import InventoryService
from product_service.domain.commands import DeductInventory
from product_service.domain.errors import DomainError
from product_service.infrastructure.event_codec import parse_deduct_rejected, parse_payment
from product_service.infrastructure.logs import about_order
from product_service.infrastructure.metrics import BULK_ENTRIES, HANDLER_SECONDS, MESSAGES
from product_service.infrastructure.settings import Settings
from product_service.infrastructure.telemetry import context_from_traceparent, tracer
from product_service.interfaces.grpc.answers import RETRY, SUCCESS, message_answer
from product_service.interfaces.grpc.bulk import BulkDelivery, BulkOptions, subscribe_in_bulk
from product_service.interfaces.grpc.intake import Intake
from product_service.interfaces.grpc.observed import run_batch, run_operation

log = logging.getLogger(__name__)

EXPECTED_FAILURES = (DomainError, TransientError, StoreRejected)


def register_subscriptions(
    app: App, inventory: InventoryService, settings: Settings, intake: Intake
) -> None:
    topics = settings.topics

    def handle(event: v1.Event, operation: Operation) -> TopicEventResponse:
        topic = event.Subject()
        started = time.perf_counter()
        with (
            intake.admit() as admitted,
            tracer().start_as_current_span(
                f"{topic} process",
                context=context_from_traceparent(_sidecar_traceparent(event)),
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.destination.name": topic,
                    "messaging.message.id": event.EventID(),
                },
            ) as span,
        ):
            # Shutting down: RETRY keeps the message with the broker for the next process.
            answer = _answer(event, operation) if admitted else RETRY
            span.set_attribute("dapr.answer", answer.status.name)
        MESSAGES.labels(topic, answer.status.name).inc()
        HANDLER_SECONDS.labels(topic).observe(time.perf_counter() - started)
        return answer

    deduct = Operation("deduct", parse_payment, inventory.deduct)
    revert = Operation("revert", parse_deduct_rejected, inventory.revert)

    def on_payment_success(event: v1.Event) -> TopicEventResponse:
        return handle(event, deduct)

    def on_payments(delivery: BulkDelivery) -> list[TopicEventResponse]:
        started, topic, count = time.perf_counter(), delivery.topic, len(delivery.messages)
        with (
            intake.admit() as admitted,
            tracer().start_as_current_span(
                f"{topic} process",
                context=context_from_traceparent(delivery.traceparent),
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.destination.name": topic,
                    "messaging.batch.message_count": count,
                },
            ),
        ):
            answers = _answer_payments(delivery, inventory) if admitted else [RETRY] * count
        for answer in answers:
            MESSAGES.labels(topic, answer.status.name).inc()
        HANDLER_SECONDS.labels(topic).observe(time.perf_counter() - started)
        BULK_ENTRIES.labels(topic).observe(count)
        return answers

    payments, dead_letters = topics.payment_succeeded, settings.dead_letter_topic
    if settings.bulk_subscribe:
        options = BulkOptions.of(settings)
        subscribe_in_bulk(
            app,
            settings.pubsub_name,
            payments,
            dead_letters(payments),
            on_payment_success,
            on_payments,
            options,
        )
    else:
        app.subscribe(settings.pubsub_name, payments, dead_letter_topic=dead_letters(payments))(
            on_payment_success
        )

    @app.subscribe(
        settings.pubsub_name,
        topics.deduct_rejected,
        dead_letter_topic=dead_letters(topics.deduct_rejected),
    )
    def on_deduct_success_rejected(event: v1.Event) -> TopicEventResponse:
        return handle(event, revert)


def _sidecar_traceparent(event: v1.Event) -> str | None:
    """The sidecar's delivery span, sent as gRPC metadata (the CloudEvent's own traceparent is
    the publisher's span, one step further up)."""
    extensions = event.Extensions() or {}
    value = extensions.get("_metadata_traceparent") or extensions.get("traceparent")
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Operation:
    name: str
    parse: Callable[[bytes, str], Any]
    use_case: Callable[[Any], OperationResult]


def _answer(event: v1.Event, operation: Operation) -> TopicEventResponse:
    topic, message_id = event.Subject(), event.EventID()
    try:
        command = operation.parse(_payload(event), message_id)
    except EXPECTED_FAILURES as exc:
        log.warning("%s message %s: DROP: %s", topic, message_id, exc)
        return message_answer(exc)
    with about_order(command.order_id):
        try:
            result = run_operation(operation.name, command, operation.use_case)
        except EXPECTED_FAILURES as exc:
            answer = message_answer(exc)
            log.warning("%s message %s: %s: %s", topic, message_id, answer.status.name, exc)
            return answer
        except Exception as exc:  # a bug of ours: keep the message, show the traceback
            log.exception("%s message %s: unexpected error", topic, message_id)
            return message_answer(exc)
        _log_result(topic, result)
        return SUCCESS


def _answer_payments(
    delivery: BulkDelivery, inventory: InventoryService
) -> list[TopicEventResponse]:
    """A bulk delivery: bad messages are dropped alone; the others are decided together."""
    topic, messages = delivery.topic, delivery.messages
    answers: list[TopicEventResponse] = [RETRY] * len(messages)
    parsed: list[tuple[int, DeductInventory]] = []
    for index, message in enumerate(messages):
        try:
            parsed.append((index, parse_payment(message.data, message.message_id)))
        except EXPECTED_FAILURES as exc:
            log.warning("%s message %s: DROP: %s", topic, message.message_id, exc)
            answers[index] = message_answer(exc)
    if not parsed:
        return answers
    try:
        results = run_batch("deduct", [command for _, command in parsed], inventory.deduct_batch)
    except Exception as exc:  # the whole delivery comes again: database down, or a bug of ours
        expected = isinstance(exc, EXPECTED_FAILURES)
        log.log(
            logging.WARNING if expected else logging.ERROR,
            "%s bulk delivery of %d: RETRY: %s",
            topic,
            len(messages),
            exc,
            exc_info=not expected,
        )
        return answers
    for (index, command), result in zip(parsed, results, strict=True):
        answers[index] = _answer_of(topic, messages[index].message_id, command.order_id, result)
    return answers


def _answer_of(
    topic: str, message_id: str, order_id: int, result: BatchAnswer
) -> TopicEventResponse:
    with about_order(order_id):
        if isinstance(result, OperationResult):
            _log_result(topic, result)
            return SUCCESS
        answer = message_answer(result)
        log.warning("%s message %s: %s: %s", topic, message_id, answer.status.name, result)
        return answer


def _log_result(topic: str | None, result: OperationResult) -> None:
    log.info(
        "%s order %s: %s %s%s",
        topic,
        result.order_id,
        result.outcome.value,
        result.reason.value,
        " (duplicate)" if result.duplicate else "",
    )


def _payload(event: v1.Event) -> bytes:
    data = event.Data()
    return data if isinstance(data, bytes) else b""  # empty: rejected as malformed
