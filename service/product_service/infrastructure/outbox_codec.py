"""Outcome events as outbox rows: topic, key and payload in the protobuf JSON mapping of
proto/product/v1/events.proto, with the event's own id; or, for an order that came over the
legacy bridge, in the go-micro format (legacy_codec.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from google.protobuf import json_format
from google.protobuf.message import Message

from product_service.contract.product.v1 import events_pb2 as pb
from product_service.contract.scalars import INT32_END, UINT32_END
from product_service.contract.topics import Topics
from product_service.domain.events import (
    InventoryDeducted,
    InventoryDeductFailed,
    OutcomeEvent,
)
from product_service.domain.model import Dialect


@dataclass(frozen=True)
class OutboxMessage:
    event_id: str
    topic: str
    key: str
    payload: str
    trace_context: str | None = None
    message_id: str | None = None  # the CloudEvent id when not event_id (a replayed dead letter)
    # The payload is the whole broker record (published with rawPayload), not a CloudEvent's data.
    raw: bool = False

    @property
    def cloud_event_id(self) -> str:
        return self.message_id or self.event_id


class DialectSerializer(Protocol):
    def serialize(
        self, event: OutcomeEvent, created_at: datetime, trace_context: str | None
    ) -> OutboxMessage | None:
        """The event in this dialect, or None when the dialect has no form of it."""
        ...


class EventSerializer:
    """The one place that decides an outcome's topic and payload."""

    def __init__(self, topics: Topics, legacy: DialectSerializer | None = None) -> None:
        self._topics = topics
        self._legacy = legacy  # None: the legacy bridge is off

    def serialize(
        self, event: OutcomeEvent, created_at: datetime, trace_context: str | None = None
    ) -> OutboxMessage:
        """A legacy order's outcome in the legacy format when it has one (a revert has none),
        everything else in the contract (also a legacy order's, once the bridge is off)."""
        if event.dialect is Dialect.LEGACY and self._legacy is not None:
            told = self._legacy.serialize(event, created_at, trace_context)
            if told is not None:
                return told
        return self._contract(event, trace_context)

    def _contract(self, event: OutcomeEvent, trace_context: str | None) -> OutboxMessage:
        payload = _plain_success(event)
        if payload is not None:
            topic = self._topics.deduct_succeeded
        else:
            topic, message = self._encode(event)
            payload = json_format.MessageToJson(
                message,
                preserving_proto_field_name=True,
                indent=None,
                always_print_fields_with_no_presence=True,
            )
        return OutboxMessage(event.event_id, topic, str(event.order_id), payload, trace_context)

    def _encode(self, event: OutcomeEvent) -> tuple[str, Message]:
        if isinstance(event, InventoryDeducted):
            skus = [
                pb.DeductedSku(
                    Id=s.sku_id, Quantity=s.quantity, Stock=s.stock, Threshold=s.threshold
                )
                for s in event.skus
            ]
            return self._topics.deduct_succeeded, pb.OnInventoryDeductSuccess(
                OrderId=event.order_id, Sku=skus
            )
        if isinstance(event, InventoryDeductFailed):
            lines = [
                pb.FailedLine(
                    SkuId=line.sku_id,
                    Requested=line.requested,
                    Available=line.available,
                    Reason=line.reason.value,
                )
                for line in event.lines
            ]
            return self._topics.deduct_failed, pb.OnInventoryDeductFailed(
                OrderId=event.order_id,
                Reason=event.reason.value,
                Lines=lines,
            )
        skus_back = [
            pb.RevertedSku(Id=s.sku_id, Quantity=s.quantity, Stock=s.stock) for s in event.skus
        ]
        return self._topics.reverted, pb.OnInventoryReverted(OrderId=event.order_id, Sku=skus_back)


def _plain_success(event: OutcomeEvent) -> str | None:
    """The success event, the hot one, as the document MessageToJson writes (int64 as strings,
    int32 as numbers) in a fifth of the time; tests/unit/test_outbox_codec.py compares them."""
    if not isinstance(event, InventoryDeducted) or not all(
        -INT32_END <= s.quantity < INT32_END
        and 0 <= s.stock < UINT32_END
        and 0 <= s.threshold < UINT32_END
        for s in event.skus
    ):
        return None  # out of the proto's ranges: the protobuf encoder refuses it
    skus = [
        {"Id": str(s.sku_id), "Quantity": s.quantity, "Stock": s.stock, "Threshold": s.threshold}
        for s in event.skus
    ]
    return json.dumps({"OrderId": str(event.order_id), "Sku": skus})
