"""Topic subscriptions: each delivery runs one use case and answers SUCCESS, DROP or RETRY."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import TypeVar

from cloudevents.sdk.event import v1
from dapr.ext.grpc import App, TopicEventResponse
from opentelemetry.trace import SpanKind

from product_service.application.dead_letters import DeadLetters
from product_service.application.deduct_batch import BatchAnswer
from product_service.application.errors import StoreRejected, TransientError
from product_service.application.results import OperationResult
from product_service.application.service import InventoryService
from product_service.domain.commands import DeductInventory, RevertInventory
from product_service.domain.errors import DomainError
from product_service.domain.model import Outcome
from product_service.infrastructure.logs import about_order
from product_service.infrastructure.metrics import (
    BULK_ENTRIES,
    DEAD_LETTERS,
    HANDLER_SECONDS,
    LEGACY_IGNORED,
    MESSAGES,
)
from product_service.infrastructure.partitions import PartitionWatch
from product_service.infrastructure.settings import Settings
from product_service.infrastructure.telemetry import context_from_traceparent
from product_service.interfaces.grpc.answers import RETRY, SUCCESS, message_answer
from product_service.interfaces.grpc.bulk import (
    PARTITION_KEY,
    BulkDelivery,
    BulkOptions,
    subscribe_in_bulk,
)
from product_service.interfaces.grpc.dead_lettered import DeadLetterReader
from product_service.interfaces.grpc.intake import Intake
from product_service.interfaces.grpc.observed import (
    Arrival,
    Work,
    observed,
    run_batch,
    run_operation,
)
from product_service.interfaces.legacy_messages import Ignored, LegacyReader, traceparent_in
from product_service.interfaces.messages import (
    parse_deduct_rejected,
    parse_payment,
    within_limit,
)

log = logging.getLogger(__name__)

EXPECTED_FAILURES = (DomainError, TransientError, StoreRejected)
# Subscription metadata of the legacy topics: daprd hands the app the Kafka record value as it
# is, not a CloudEvent. Read in daprd 1.18.3: pkg/runtime/subscription/subscription.go wraps
# the raw value with contribpubsub.FromRawPayload (a CloudEvent with a new random id,
# datacontenttype application/octet-stream and the value as data_base64), and
# pkg/runtime/pubsub/subscriptions.go (GRPCEnvelopeFromSubscriptionMessage) decodes
# data_base64 back into TopicEventRequest.data: the app gets the record value byte for byte.
# The dead-letter topic gets the raw value too (sendToDeadLetter publishes msg.Data).
RAW_PAYLOAD = {"rawPayload": "true"}

Command = TypeVar("Command", DeductInventory, RevertInventory)
Answer = TypeVar("Answer")


class TopicHandlers:
    """One handler per subscribed topic (and one for payments delivered in bulk)."""

    def __init__(
        self,
        inventory: InventoryService,
        dead_letters: DeadLetters,
        settings: Settings,
        intake: Intake,
    ) -> None:
        self._inventory = inventory
        self._dead_letters = dead_letters
        self._reader = DeadLetterReader(settings)
        self._legacy = LegacyReader(settings.legacy_era) if settings.legacy_era else None
        self._max_bytes = settings.max_message_bytes
        self._patience = settings.dead_letter_patience_seconds
        self._intake = intake
        self._partitions = PartitionWatch()

    def on_payment_succeeded(self, event: v1.Event) -> TopicEventResponse:
        """OnPaymentSuccess, one message: deduct the order's stock."""
        return self._one(event, self._parse_payment, self._deduct)

    def on_payments_succeeded(self, delivery: BulkDelivery) -> list[TopicEventResponse]:
        """OnPaymentSuccess in bulk: the delivery's orders decided in one transaction."""
        count = len(delivery.messages)
        self._partitions.delivered(delivery.topic, delivery.partition, count)
        arrival = Arrival(
            f"{delivery.topic} process",
            SpanKind.CONSUMER,
            context_from_traceparent(delivery.traceparent),
            {"messaging.destination.name": delivery.topic, "messaging.batch.message_count": count},
        )

        def record(answers: list[TopicEventResponse], seconds: float) -> None:
            _count(delivery.topic, answers, seconds)
            BULK_ENTRIES.labels(delivery.topic).observe(count)

        return observed(
            self._intake,
            arrival,
            lambda _work: self._deduct_delivery(delivery),
            lambda: [RETRY] * count,
            record,
        )

    def on_deduct_rejected(self, event: v1.Event) -> TopicEventResponse:
        """OnInventoryDeductSuccessDLQ: the order service refused our deduction; revert it."""
        return self._one(event, self._parse_rejected, self._revert)

    def on_legacy_payment(self, event: v1.Event) -> TopicEventResponse:
        """The legacy payment topic (go-micro, raw): deduct; other event types are left alone."""
        return self._one(event, self._parse_legacy_payment, self._deduct, self._go_trace(event))

    def on_legacy_rejected(self, event: v1.Event) -> TopicEventResponse:
        """The legacy compensation topic (go-micro, raw): the order service sent our success
        back; revert it."""
        return self._one(event, self._parse_legacy_rejected, self._revert, self._go_trace(event))

    def on_dead_letter(self, event: v1.Event) -> TopicEventResponse:
        """<topic>.dead-letter of our own subscriptions: record what the sidecar gave up on.
        A bad payload is expected here and recorded as it is; only a database that cannot
        record it makes the answer RETRY."""
        return self._observed(event, lambda work: self._record_dead_letter(work, event))

    def dead_letter_topics(self) -> list[str]:
        return list(self._reader.topics)

    def is_raw(self, dead_letter_topic: str) -> bool:
        """A legacy subscription's dead letters are raw records, subscribed as such."""
        return dead_letter_topic in self._reader.raw_topics

    def _parse_payment(self, data: bytes, message_id: str) -> DeductInventory:
        return parse_payment(within_limit(data, self._max_bytes), message_id)

    def _parse_rejected(self, data: bytes, message_id: str) -> RevertInventory:
        return parse_deduct_rejected(within_limit(data, self._max_bytes), message_id)

    def _go_trace(self, event: v1.Event) -> str | None:
        """The Go publisher's trace, from the record's Traceparent header: a raw record has no
        Kafka headers for the sidecar to continue a trace from."""
        data = _payload(event)
        return traceparent_in(data) if len(data) <= self._max_bytes else None

    def _parse_legacy_payment(self, data: bytes, message_id: str) -> DeductInventory:
        assert self._legacy is not None, "subscribed only with the legacy bridge on"
        return self._legacy.payment(within_limit(data, self._max_bytes), message_id)

    def _parse_legacy_rejected(self, data: bytes, message_id: str) -> RevertInventory:
        assert self._legacy is not None, "subscribed only with the legacy bridge on"
        return self._legacy.rejected(within_limit(data, self._max_bytes), message_id)

    def _record_dead_letter(self, work: Work, event: v1.Event) -> TopicEventResponse:
        seen = self._reader.seen(
            event.Subject() or "", event.EventID(), _payload(event), event.ContentType() or ""
        )
        with work.about_order(seen.order_id) if seen.order_id else nullcontext():
            try:
                letter, new = self._patiently(lambda: self._dead_letters.record(seen))
            except Exception as exc:  # not recorded: the message stays with the broker
                log.warning(
                    "%s message %s: RETRY: not recorded: %s", seen.topic, seen.event_id, exc
                )
                return RETRY
            if new:
                DEAD_LETTERS.labels(seen.original_topic, seen.reason).inc()
            log.warning(
                "%s: dead letter %d of %s (%s), seen %d time(s)",
                seen.topic,
                letter.id,
                seen.original_topic,
                seen.reason,
                letter.times_seen,
            )
        return SUCCESS

    def _deduct(self, command: DeductInventory) -> OperationResult:
        return run_operation("deduct", command, self._inventory.deduct)

    def _revert(self, command: RevertInventory) -> OperationResult:
        return run_operation("revert", command, self._inventory.revert)

    def _one(
        self,
        event: v1.Event,
        parse: Callable[[bytes, str], Command],
        decide: Callable[[Command], OperationResult],
        traceparent: str | None = None,
    ) -> TopicEventResponse:
        return self._observed(event, lambda work: _answer(work, event, parse, decide), traceparent)

    def _observed(
        self,
        event: v1.Event,
        work: Callable[[Work], TopicEventResponse],
        traceparent: str | None = None,
    ) -> TopicEventResponse:
        """One message in its consumer span (continuing the sidecar's delivery span, else
        `traceparent`), counted; RETRY once shutdown has begun (the message stays with the
        broker)."""
        topic = event.Subject() or ""  # the SDK sets it to the topic
        self._partitions.delivered(topic, _sidecar_metadata(event, PARTITION_KEY))
        arrival = Arrival(
            f"{topic} process",
            SpanKind.CONSUMER,
            context_from_traceparent(_sidecar_traceparent(event) or traceparent),
            {"messaging.destination.name": topic, "messaging.message.id": event.EventID()},
        )
        return observed(
            self._intake,
            arrival,
            work,
            lambda: RETRY,
            lambda answer, seconds: _count(topic, [answer], seconds),
        )

    def _patiently(self, record: Callable[[], Answer]) -> Answer:
        """`record()`, retried while the database is unreachable, for up to
        PRODUCT_DEAD_LETTER_PATIENCE_SECONDS or until shutdown begins. The sidecar's own
        retries of a dead-letter delivery end after minutes, and with them the delivery."""
        deadline, delay = time.monotonic() + self._patience, 0.5
        while True:
            try:
                return record()
            except TransientError as exc:
                if time.monotonic() + delay > deadline or not self._intake.is_open:
                    raise
                log.warning("dead letter not recorded yet, retrying in %.1fs: %s", delay, exc)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _deduct_delivery(self, delivery: BulkDelivery) -> list[TopicEventResponse]:
        """Bad messages are dropped alone; the others are decided together."""
        answers: list[TopicEventResponse] = [RETRY] * len(delivery.messages)
        parsed: list[tuple[int, DeductInventory]] = []
        for index, message in enumerate(delivery.messages):
            try:
                parsed.append((index, self._parse_payment(message.data, message.message_id)))
            except EXPECTED_FAILURES as exc:
                answers[index] = _dropped(delivery.topic, message.message_id, exc)
        if not parsed:
            return answers
        try:
            commands = [command for _, command in parsed]
            results = run_batch("deduct", commands, self._inventory.deduct_batch)
        except Exception as exc:  # the whole delivery comes again: database down, or a bug
            _log_delivery_retried(delivery, exc)
            return answers
        for (index, command), result in zip(parsed, results, strict=True):
            message_id = delivery.messages[index].message_id
            with about_order(command.order_id):
                answers[index] = _answer_of(delivery.topic, message_id, result, in_bulk=True)
        _log_delivery(delivery, [command for _, command in parsed], results)
        return answers


def register_subscriptions(app: App, handlers: TopicHandlers, settings: Settings) -> None:
    """Declares the subscriptions to the sidecar, each with its dead-letter topic."""
    pubsub, topics, dead_letters = settings.pubsub_name, settings.topics, settings.dead_letter_topic
    payments, rejected = topics.payment_succeeded, topics.deduct_rejected
    if settings.bulk_subscribe:
        subscribe_in_bulk(
            app,
            pubsub,
            payments,
            dead_letters(payments),
            handlers.on_payment_succeeded,
            handlers.on_payments_succeeded,
            BulkOptions.of(settings),
        )
    else:
        app.subscribe(pubsub, payments, dead_letter_topic=dead_letters(payments))(
            handlers.on_payment_succeeded
        )
    app.subscribe(pubsub, rejected, dead_letter_topic=dead_letters(rejected))(
        handlers.on_deduct_rejected
    )
    _subscribe_legacy(app, handlers, settings)
    for dead_letter_topic in handlers.dead_letter_topics():  # no dead-letter topic of their own
        metadata = RAW_PAYLOAD if handlers.is_raw(dead_letter_topic) else {}
        app.subscribe(pubsub, dead_letter_topic, metadata=metadata)(handlers.on_dead_letter)


def _subscribe_legacy(app: App, handlers: TopicHandlers, settings: Settings) -> None:
    """The legacy bridge's topics (PRODUCT_LEGACY_WIRE), raw, one message per delivery."""
    legacy = settings.legacy_topics
    if legacy is None:
        return
    for topic, handler in (
        (legacy.payment_succeeded, handlers.on_legacy_payment),
        (legacy.deduct_rejected, handlers.on_legacy_rejected),
    ):
        dead_letter_topic = settings.dead_letter_topic(topic)
        app.subscribe(
            settings.pubsub_name, topic, metadata=RAW_PAYLOAD, dead_letter_topic=dead_letter_topic
        )(handler)


def _answer(
    work: Work,
    event: v1.Event,
    parse: Callable[[bytes, str], Command],
    decide: Callable[[Command], OperationResult],
) -> TopicEventResponse:
    topic, message_id = event.Subject() or "", event.EventID()
    try:
        command = parse(_payload(event), message_id)
    except Ignored as ignored:
        answer = _ignored(topic, message_id, ignored)
    except EXPECTED_FAILURES as exc:
        answer = _dropped(topic, message_id, exc)
    else:
        with work.about_order(command.order_id):
            try:
                result: BatchAnswer = decide(command)
            except Exception as exc:
                result = exc
            answer = _answer_of(topic, message_id, result)
    work.annotate("dapr.answer", answer.status.name)
    return answer


def _answer_of(
    topic: str, message_id: str, result: BatchAnswer, in_bulk: bool = False
) -> TopicEventResponse:
    """SUCCESS for a decided order (logged; `in_bulk`, a first success only at DEBUG, the
    delivery's line names it); for an error the answer it calls for (logged with its traceback
    when it is a bug of ours: the message is kept)."""
    if isinstance(result, OperationResult):
        routine = in_bulk and result.outcome is Outcome.SUCCEEDED and not result.duplicate
        _log_result(topic, result, logging.DEBUG if routine else logging.INFO)
        return SUCCESS
    answer = message_answer(result)
    if isinstance(result, EXPECTED_FAILURES):
        log.warning("%s message %s: %s: %s", topic, message_id, answer.status.name, result)
    else:
        log.error("%s message %s: unexpected error", topic, message_id, exc_info=result)
    return answer


def _ignored(topic: str, message_id: str, ignored: Ignored) -> TopicEventResponse:
    """Another service's record on a shared topic: acknowledged, counted, left alone."""
    LEGACY_IGNORED.labels(topic, ignored.label).inc()
    log.debug("%s message %s: SUCCESS, ignored: %s", topic, message_id, ignored)
    return SUCCESS


def _dropped(topic: str, message_id: str, exc: Exception) -> TopicEventResponse:
    log.warning("%s message %s: DROP: %s", topic, message_id, exc)
    return message_answer(exc)


def _log_delivery_retried(delivery: BulkDelivery, exc: Exception) -> None:
    expected = isinstance(exc, EXPECTED_FAILURES)
    log.log(
        logging.WARNING if expected else logging.ERROR,
        "%s bulk delivery of %d: RETRY: %s",
        delivery.topic,
        len(delivery.messages),
        exc,
        exc_info=not expected,
    )


def _count(topic: str, answers: Sequence[TopicEventResponse], seconds: float) -> None:
    for answer in answers:
        MESSAGES.labels(topic, answer.status.name).inc()
    HANDLER_SECONDS.labels(topic).observe(seconds)


def _log_delivery(
    delivery: BulkDelivery, commands: Sequence[DeductInventory], results: Sequence[BatchAnswer]
) -> None:
    """One line per bulk delivery: how its messages came out, and the orders' ids
    (`order_ids`); each order has a line of its own only when it did not simply succeed."""
    if not log.isEnabledFor(logging.INFO):
        return
    outcomes = Counter(
        result.outcome.value if isinstance(result, OperationResult) else "NOT DECIDED"
        for result in results
    )
    if dropped := len(delivery.messages) - len(commands):
        outcomes["DROPPED"] = dropped
    log.info(
        "%s bulk delivery of %d: %s",
        delivery.topic,
        len(delivery.messages),
        ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())),
        extra={"order_ids": [command.order_id for command in commands]},
    )


def _log_result(topic: str, result: OperationResult, level: int = logging.INFO) -> None:
    if not log.isEnabledFor(level):
        return
    log.log(
        level,
        "%s order %s: %s %s%s",
        topic,
        result.order_id,
        result.outcome.value,
        result.reason.value,
        " (duplicate)" if result.duplicate else "",
    )


def _sidecar_traceparent(event: v1.Event) -> str | None:
    """The sidecar's delivery span, sent as gRPC metadata (the CloudEvent's own traceparent is
    the publisher's span, one step further up)."""
    value = _sidecar_metadata(event, "traceparent") or (event.Extensions() or {}).get("traceparent")
    return value if isinstance(value, str) else None


def _sidecar_metadata(event: v1.Event, key: str) -> str | None:
    """An item of the gRPC metadata the sidecar sent with the message (dapr-ext-grpc puts
    them among the extensions, prefixed `_metadata_`)."""
    value = (event.Extensions() or {}).get(f"_metadata_{key}")
    return value if isinstance(value, str) else None


def _payload(event: v1.Event) -> bytes:
    data = event.Data()
    return data if isinstance(data, bytes) else b""  # empty: rejected as malformed
