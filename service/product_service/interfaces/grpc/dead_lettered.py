"""What a message on a dead-letter topic is, as the service can tell from its payload alone.

The sidecar republishes a message to `<topic><suffix>` when the service answered DROP (bad
input: the same parse and validation say why again here) or when its retries ran out while the
service answered RETRY (the payload is fine: RETRIES_EXHAUSTED). A legacy topic's dead letter is
the go-micro record as it came (subscribed with rawPayload); the sidecar gives it a new random
CloudEvent id on every delivery, so it is known by its Event_id header instead.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable

from product_service.domain.commands import DeductInventory, OrderLimits, RevertInventory
from product_service.domain.dead_letters import RETRIES_EXHAUSTED, DeadLetterSeen
from product_service.domain.errors import DomainError
from product_service.infrastructure.settings import Settings
from product_service.interfaces.legacy_messages import Ignored, LegacyReader, read_record
from product_service.interfaces.messages import (
    MalformedEvent,
    parse_deduct_rejected,
    parse_payment,
    within_limit,
)

Check = Callable[[bytes, str], DeductInventory | RevertInventory]
# Ids of legacy dead letters without an Event_id header: one per payload, whatever the delivery.
LEGACY_LETTER_NAMESPACE = uuid.UUID("0f3b9a52-6c1e-4d8a-b7f4-2e9d5c8a1b63")
# The reason of a record that was not for this service (acknowledged, not dead-lettered, so
# only seen here when put into a dead-letter topic by hand).
IGNORED = "IGNORED_EVENT_TYPE"


class DeadLetterReader:
    """Reads deliveries of the dead-letter topics of the service's own subscriptions."""

    def __init__(self, settings: Settings) -> None:
        topics, limits = settings.topics, settings.order_limits
        self._max_bytes = settings.max_message_bytes
        self._dead_letter_topic = settings.dead_letter_topic
        self._checks: dict[str, Check] = {
            topics.payment_succeeded: lambda data, id_: _deduct(data, id_, limits),
            topics.deduct_rejected: lambda data, id_: parse_deduct_rejected(data, id_).validated(),
        }
        self._legacy = _legacy_checks(settings)
        self._checks |= self._legacy

    @property
    def topics(self) -> dict[str, str]:
        """Each dead-letter topic with the topic it collects for."""
        return {self._dead_letter_topic(topic): topic for topic in self._checks}

    @property
    def raw_topics(self) -> set[str]:
        """The dead-letter topics of legacy subscriptions: raw go-micro records."""
        return {self._dead_letter_topic(topic) for topic in self._legacy}

    def seen(self, topic: str, event_id: str, data: bytes, content_type: str) -> DeadLetterSeen:
        original = self.topics.get(topic, topic)
        if original in self._legacy:
            event_id = _legacy_letter_id(data)
        order_id, reason, detail = self._why(original, event_id, data)
        return DeadLetterSeen(
            topic, original, event_id, order_id, reason, detail, data, content_type
        )

    def _why(self, original: str, event_id: str, data: bytes) -> tuple[int | None, str, str]:
        try:
            command = self._checks[original](within_limit(data, self._max_bytes), event_id)
        except (DomainError, KeyError, Ignored) as exc:
            return _order_id_in(data, original in self._legacy), _code(exc), str(exc)
        detail = "answered RETRY until the sidecar's retries ran out"
        return command.order_id, RETRIES_EXHAUSTED, detail


def _deduct(data: bytes, message_id: str, limits: OrderLimits) -> DeductInventory:
    return parse_payment(data, message_id).validated(limits)


def _legacy_checks(settings: Settings) -> dict[str, Check]:
    """The legacy subscriptions' parse and validation, by topic; none while the bridge is off."""
    era, topics, limits = settings.legacy_era, settings.legacy_topics, settings.order_limits
    if era is None or topics is None:
        return {}
    reader = LegacyReader(era)
    return {
        topics.payment_succeeded: lambda data, id_: reader.payment(data, id_).validated(limits),
        topics.deduct_rejected: lambda data, id_: reader.rejected(data, id_).validated(),
    }


def _code(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.code
    return IGNORED if isinstance(exc, Ignored) else "UNKNOWN_TOPIC"


def _legacy_letter_id(data: bytes) -> str:
    """The record's Event_id, or an id made from the payload when it has none."""
    try:
        event_id = read_record(data).event_id
    except MalformedEvent:
        event_id = ""
    digest = hashlib.sha256(data).hexdigest()
    return event_id or str(uuid.uuid5(LEGACY_LETTER_NAMESPACE, digest))


def _order_id_in(data: bytes, legacy: bool) -> int | None:
    """The order id of a payload that did not parse as a whole, when it names one (a go-micro
    record names it in its Pkey header)."""
    try:
        value = read_record(data).order_key if legacy else json.loads(data).get("OrderId")
        return int(value) if 0 < int(value) < 2**63 else None
    except (ValueError, TypeError, AttributeError, OverflowError, MalformedEvent):
        return None
