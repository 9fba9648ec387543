"""What a message on a dead-letter topic is, as the service can tell from its payload alone.

The sidecar republishes a message to `<topic><suffix>` when the service answered DROP (bad
input: the same parse and validation say why again here) or when its retries ran out while the
service answered RETRY (the payload is fine: RETRIES_EXHAUSTED).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from product_service.domain.commands import DeductInventory, OrderLimits, RevertInventory
from product_service.domain.dead_letters import RETRIES_EXHAUSTED, DeadLetterSeen
from product_service.domain.errors import DomainError
from product_service.infrastructure.settings import Settings
from product_service.interfaces.messages import (
    parse_deduct_rejected,
    parse_payment,
    within_limit,
)


class DeadLetterReader:
    """Reads deliveries of the dead-letter topics of the service's own subscriptions."""

    def __init__(self, settings: Settings) -> None:
        topics, limits = settings.topics, settings.order_limits
        self._max_bytes = settings.max_message_bytes
        self._dead_letter_topic = settings.dead_letter_topic
        self._checks: dict[str, Callable[[bytes, str], DeductInventory | RevertInventory]] = {
            topics.payment_succeeded: lambda data, id_: _deduct(data, id_, limits),
            topics.deduct_rejected: lambda data, id_: parse_deduct_rejected(data, id_).validated(),
        }

    @property
    def topics(self) -> dict[str, str]:
        """Each dead-letter topic with the topic it collects for."""
        return {self._dead_letter_topic(topic): topic for topic in self._checks}

    def seen(self, topic: str, event_id: str, data: bytes, content_type: str) -> DeadLetterSeen:
        original = self.topics.get(topic, topic)
        order_id, reason, detail = self._why(original, event_id, data)
        return DeadLetterSeen(
            topic, original, event_id, order_id, reason, detail, data, content_type
        )

    def _why(self, original: str, event_id: str, data: bytes) -> tuple[int | None, str, str]:
        try:
            command = self._checks[original](within_limit(data, self._max_bytes), event_id)
        except (DomainError, KeyError) as exc:
            reason = exc.code if isinstance(exc, DomainError) else "UNKNOWN_TOPIC"
            return _order_id_in(data), reason, str(exc)
        detail = "answered RETRY until the sidecar's retries ran out"
        return command.order_id, RETRIES_EXHAUSTED, detail


def _deduct(data: bytes, message_id: str, limits: OrderLimits) -> DeductInventory:
    return parse_payment(data, message_id).validated(limits)


def _order_id_in(data: bytes) -> int | None:
    """The order id of a payload that did not parse as a whole, when it names one."""
    try:
        value = json.loads(data).get("OrderId")
        return int(value) if 0 < int(value) < 2**63 else None
    except (ValueError, TypeError, AttributeError, OverflowError):
        return None
