"""Topic subscriptions: each delivery runs one use case and answers SUCCESS, DROP or RETRY."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cloudevents.sdk.event import v1
from dapr.clients.grpc._response import TopicEventResponse
from dapr.ext.grpc import App

from product_service.application.errors import StoreRejected, TransientError
from product_service.application.results import OperationResult
from product_service.application.service import InventoryService
from product_service.domain.errors import DomainError
from product_service.infrastructure.event_codec import parse_deduct_rejected, parse_payment
from product_service.infrastructure.settings import Settings
from product_service.interfaces.grpc.answers import RETRY, SUCCESS, message_answer

log = logging.getLogger(__name__)

EXPECTED_FAILURES = (DomainError, TransientError, StoreRejected)


class Intake:
    """Counts deliveries in progress so that shutdown can stop new ones and wait for the rest."""

    def __init__(self) -> None:
        self._open = True
        self._in_flight = 0
        self._changed = threading.Condition()

    @contextmanager
    def admit(self) -> Iterator[bool]:
        with self._changed:
            admitted = self._open
            self._in_flight += admitted
        try:
            yield admitted
        finally:
            with self._changed:
                self._in_flight -= admitted
                self._changed.notify_all()

    def close_and_drain(self, timeout: float) -> bool:
        with self._changed:
            self._open = False
            return self._changed.wait_for(lambda: self._in_flight == 0, timeout=timeout)


def register_subscriptions(
    app: App, inventory: InventoryService, settings: Settings, intake: Intake
) -> None:
    topics = settings.topics

    def handle(event: v1.Event, run: Callable[[bytes, str], OperationResult]) -> TopicEventResponse:
        with intake.admit() as admitted:
            if not admitted:
                return RETRY  # shutting down: the message stays with the broker
            return _answer(event, run)

    @app.subscribe(
        settings.pubsub_name,
        topics.payment_succeeded,
        dead_letter_topic=settings.dead_letter_topic(topics.payment_succeeded),
    )
    def on_payment_success(event: v1.Event) -> TopicEventResponse:
        return handle(event, lambda data, id_: inventory.deduct(parse_payment(data, id_)))

    @app.subscribe(
        settings.pubsub_name,
        topics.deduct_rejected,
        dead_letter_topic=settings.dead_letter_topic(topics.deduct_rejected),
    )
    def on_deduct_success_rejected(event: v1.Event) -> TopicEventResponse:
        return handle(event, lambda data, id_: inventory.revert(parse_deduct_rejected(data, id_)))


def _answer(event: v1.Event, run: Callable[[bytes, str], OperationResult]) -> TopicEventResponse:
    topic, message_id = event.Subject(), event.EventID()
    try:
        result = run(_payload(event), message_id)
    except EXPECTED_FAILURES as exc:
        answer = message_answer(exc)
        log.warning("%s message %s: %s: %s", topic, message_id, answer.status.name, exc)
        return answer
    except Exception as exc:  # a bug of ours: keep the message, show the traceback
        log.exception("%s message %s: unexpected error", topic, message_id)
        return message_answer(exc)
    log.info(
        "%s order %s: %s %s%s",
        topic,
        result.order_id,
        result.outcome.value,
        result.reason.value,
        " (duplicate)" if result.duplicate else "",
    )
    return SUCCESS


def _payload(event: v1.Event) -> bytes:
    data = event.Data()
    return data if isinstance(data, bytes) else b""  # empty: rejected as malformed
