"""Outcomes of legacy-sourced orders as the Go order service reads them: go-micro broker
messages (contract/legacy_wire.py) on the legacy topics, stored raw in the outbox (the record
value exactly, published with rawPayload)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from product_service.contract import legacy_wire as wire
from product_service.contract.legacy.bare import events_pb2 as bare
from product_service.contract.legacy.v7 import events_pb2 as v7
from product_service.contract.legacy_wire import BrokerMessage, Era, LegacyTopics
from product_service.domain.events import InventoryDeducted, InventoryDeductFailed, OutcomeEvent
from product_service.infrastructure.outbox_codec import OutboxMessage

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Success = Callable[[InventoryDeducted], Message]
Refusal = Callable[[InventoryDeductFailed], Message]


class LegacySerializer:
    """One era's messages; `serialize` gives None for an outcome the Go services have no
    message for (a revert: the caller tells it in the contract)."""

    def __init__(self, era: Era, topics: LegacyTopics, source: str, version: str) -> None:
        self._era = era
        self._topics = topics
        self._source = source  # the Source header: who wrote it (the Go services: their name)
        self._version = version  # the Schema_version header (the Go services: their version)

    def serialize(
        self, event: OutcomeEvent, created_at: datetime, trace_context: str | None
    ) -> OutboxMessage | None:
        told = self._told(event)
        if told is None:
            return None
        topic, event_type, message = told
        millis = (created_at - EPOCH) // timedelta(milliseconds=1)  # exact, unlike floats
        header = self._header(event, topic, event_type, millis, trace_context)
        body = self._body(event_type, message, millis)
        payload = BrokerMessage(header, body).to_json()
        return OutboxMessage(
            event.event_id, topic, str(event.order_id), payload, trace_context, raw=True
        )

    def _told(self, event: OutcomeEvent) -> tuple[str, str, Message] | None:
        """Topic, event type and event. A refusal goes back where the order service reverts
        the payment, as the payment itself under event type OnPaymentSuccessDLQ (the Go
        product service kept OnPaymentSuccess, which the order service's dispatcher dropped)."""
        success, refusal = _EVENTS[self._era]
        if isinstance(event, InventoryDeducted):
            return self._topics.deduct_succeeded, wire.DEDUCT_SUCCEEDED, success(event)
        if isinstance(event, InventoryDeductFailed):
            return self._topics.deduct_refused, wire.PAYMENT_REFUSED, refusal(event)
        return None

    def _body(self, event_type: str, message: Message, millis: int) -> bytes:
        payload = message.SerializeToString()
        if self._era is Era.BARE:
            return payload
        return v7.BaseEvent(
            timestamp=millis, event_type=event_type, payload=payload
        ).SerializeToString()

    def _header(
        self,
        event: OutcomeEvent,
        topic: str,
        event_type: str,
        millis: int,
        trace_context: str | None,
    ) -> dict[str, str]:
        header = {
            wire.CONTENT_TYPE: wire.PROTOBUF,
            wire.TOPIC: topic,
            wire.EVENT_TYPE: event_type,
            wire.KEY: str(event.order_id),
            wire.EVENT_ID: event.event_id,
            wire.TIMESTAMP: str(millis),
            wire.SOURCE: self._source,
            wire.SCHEMA_VERSION: self._version,
        }
        if trace_context:
            header[wire.TRACEPARENT] = trace_context
        if isinstance(event, InventoryDeductFailed):
            header[wire.ERROR] = event.reason.value
        return header


def _v7_success(event: InventoryDeducted) -> Message:
    skus = [
        v7.SkuInfo(Id=s.sku_id, Quantity=s.quantity, Stock=s.stock, Threshold=s.threshold)
        for s in event.skus
    ]
    return v7.OnInventoryDeductSuccess(OrderId=event.order_id, Sku=skus)


def _v7_refusal(event: InventoryDeductFailed) -> Message:
    details = [
        v7.OrderDetail(product_id=line.product_id, sku_id=line.sku_id, quantity=line.requested)
        for line in event.lines
    ]
    return v7.OnPaymentSuccess(OrderId=event.order_id, OrderDetails=details)


def _bare_success(event: InventoryDeducted) -> Message:
    """Units per SKU ("product size"); units per product stay empty: the event does not know
    the products, and the Go order service reads only the order id."""
    sizes = [bare.InventoryCount(Id=s.sku_id, Count=s.quantity) for s in event.skus]
    return bare.OnInventoryDeductSuccess(OrderId=event.order_id, ProductSizes=sizes)


def _bare_refusal(event: InventoryDeductFailed) -> Message:
    items = [
        bare.ProductInventoryItem(
            product_id=line.product_id, product_num=line.requested, product_size_id=line.sku_id
        )
        for line in event.lines
    ]
    return bare.OnPaymentSuccess(OrderId=event.order_id, products=items)


# Per era: how a success and a refusal are written.
_EVENTS: dict[Era, tuple[Success, Refusal]] = {
    Era.V7: (_v7_success, _v7_refusal),
    Era.BARE: (_bare_success, _bare_refusal),
}
