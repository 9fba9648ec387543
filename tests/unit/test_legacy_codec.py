"""Outcomes of legacy orders as the Go order service reads them: go-micro broker messages with
every header, the body byte for byte as the spec writes it, the refusal where the order service
reverts the payment; the contract untouched."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from product_service import __version__
from product_service.bootstrap import serializer
from product_service.contract.legacy.bare import events_pb2 as bare
from product_service.contract.legacy.v7 import events_pb2 as v7
from product_service.domain.events import (
    DeductedSku,
    FailedLine,
    InventoryDeducted,
    InventoryDeductFailed,
    InventoryReverted,
)
from product_service.domain.model import Dialect, FailureReason
from product_service.infrastructure.settings import Settings
from tests.unit.test_settings import RENAMED_CONTRACT

LEGACY = Dialect.LEGACY
AT = datetime(2026, 12, 3, 10, 0, 0, 123_000, tzinfo=UTC)
MILLIS = 1_796_292_000_123
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
V7 = Settings(legacy_wire="v7")
BARE = Settings(legacy_wire="bare", **RENAMED_CONTRACT)

SUCCESS = InventoryDeducted(1001, (DeductedSku(71, 2, 48, 10),), dialect=LEGACY)
SHORT = FailureReason.INSUFFICIENT_STOCK
REFUSAL = InventoryDeductFailed(
    8,
    SHORT,
    (
        FailedLine(71, 6, 5, SHORT, product_id=7),
        FailedLine(72, 1, 9, FailureReason.NONE, product_id=7),
    ),
    dialect=LEGACY,
)


def record_of(payload: str) -> tuple[dict[str, str], bytes]:
    document = json.loads(payload)
    assert set(document) == {"Header", "Body"}
    return document["Header"], base64.b64decode(document["Body"], validate=True)


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value: int | bytes) -> bytes:
    """One protobuf field written by hand: a varint, or length-delimited bytes."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def test_a_legacy_success_goes_to_product_event_with_every_header() -> None:
    message = serializer(V7).serialize(SUCCESS, AT, TRACE)

    assert (message.topic, message.key, message.raw) == ("ProductEvent", "1001", True)
    header, _ = record_of(message.payload)
    assert header == {
        "Content-Type": "application/grpc+proto",
        "Micro-Topic": "ProductEvent",
        "Event-Type": "OnInventoryDeductSuccess",
        "Pkey": "1001",
        "Event_id": SUCCESS.event_id,
        "Timestamp": str(MILLIS),
        "Source": "product-service",
        "Schema_version": __version__,
        "Traceparent": TRACE,
    }


def test_the_success_body_is_the_base_event_the_spec_describes_byte_for_byte() -> None:
    _, body = record_of(serializer(V7).serialize(SUCCESS, AT, TRACE).payload)

    sku = field(1, 71) + field(2, 2) + field(3, 48) + field(4, 10)  # SkuInfo
    payload = field(1, 1001) + field(2, sku)  # OnInventoryDeductSuccess
    by_hand = field(2, MILLIS) + field(3, b"OnInventoryDeductSuccess") + field(4, payload)
    assert body == by_hand
    event = v7.BaseEvent.FromString(body)
    assert (event.timestamp, event.event_type) == (MILLIS, "OnInventoryDeductSuccess")
    assert v7.OnInventoryDeductSuccess.FromString(event.payload) == v7.OnInventoryDeductSuccess(
        OrderId=1001, Sku=[v7.SkuInfo(Id=71, Quantity=2, Stock=48, Threshold=10)]
    )
    assert event.SerializeToString() == body  # nothing the Go side could read differently


def test_a_refusal_is_the_payment_sent_back_as_on_payment_success_dlq() -> None:
    """The Go order service's dispatcher on OrderEventDLQ routes event type
    OnPaymentSuccessDLQ to its payment revert (order v7.0.0 subscriber/order_dlq.go)."""
    message = serializer(V7).serialize(REFUSAL, AT, TRACE)

    assert (message.topic, message.key, message.raw) == ("OrderEventDLQ", "8", True)
    header, body = record_of(message.payload)
    assert header["Event-Type"] == "OnPaymentSuccessDLQ"
    assert header["Micro-Topic"] == "OrderEventDLQ"
    assert (header["Pkey"], header["x-error"]) == ("8", "INSUFFICIENT_STOCK")
    event = v7.BaseEvent.FromString(body)
    assert event.event_type == "OnPaymentSuccessDLQ"
    assert v7.OnPaymentSuccess.FromString(event.payload) == v7.OnPaymentSuccess(
        OrderId=8,
        OrderDetails=[
            v7.OrderDetail(product_id=7, sku_id=71, quantity=6),
            v7.OrderDetail(product_id=7, sku_id=72, quantity=1),
        ],
    )


def test_the_event_id_is_the_events_own_whenever_it_is_written() -> None:
    later = datetime(2027, 1, 1, tzinfo=UTC)
    first = serializer(V7).serialize(SUCCESS, AT)
    again = serializer(V7).serialize(InventoryDeducted(1001, (), dialect=LEGACY), later)

    assert record_of(first.payload)[0]["Event_id"] == record_of(again.payload)[0]["Event_id"]
    assert first.event_id == SUCCESS.event_id == InventoryDeducted(1001, ()).event_id
    assert "Traceparent" not in record_of(first.payload)[0]  # not known: not sent


def test_the_bare_era_sends_the_events_themselves_on_their_own_topics() -> None:
    success = serializer(BARE).serialize(SUCCESS, AT)
    refusal = serializer(BARE).serialize(REFUSAL, AT)

    assert (success.topic, refusal.topic) == ("OnInventoryDeductSuccess", "OnPaymentSuccessDLQ")
    _, body = record_of(success.payload)
    assert body == field(1, 1001) + field(3, field(1, 71) + field(2, 2))
    assert bare.OnInventoryDeductSuccess.FromString(body).ProductSizes[0].Count == 2
    _, body = record_of(refusal.payload)
    assert bare.OnPaymentSuccess.FromString(body) == bare.OnPaymentSuccess(
        OrderId=8,
        products=[
            bare.ProductInventoryItem(product_id=7, product_num=6, product_size_id=71),
            bare.ProductInventoryItem(product_id=7, product_num=1, product_size_id=72),
        ],
    )


def test_a_legacy_orders_revert_is_told_in_the_contract() -> None:
    """The Go services have no revert event; one on ProductEvent would come back to us on
    ProductEventDLQ from the order service's dispatcher."""
    message = serializer(V7).serialize(InventoryReverted(3, (), dialect=LEGACY), AT)

    assert (message.topic, message.raw) == ("OnInventoryReverted", False)
    assert json.loads(message.payload) == {"OrderId": "3", "Sku": []}


@pytest.mark.parametrize("settings", [V7, Settings()], ids=["bridge on", "bridge off"])
def test_contract_orders_are_told_in_the_contract(settings: Settings) -> None:
    contract = InventoryDeducted(1001, SUCCESS.skus)
    message = serializer(settings).serialize(contract, AT, TRACE)

    assert (message.topic, message.raw, message.trace_context) == (
        "OnInventoryDeductSuccess",
        False,
        TRACE,
    )
    assert json.loads(message.payload)["OrderId"] == "1001"


def test_with_the_bridge_off_a_legacy_orders_outcome_is_told_in_the_contract() -> None:
    message = serializer(Settings()).serialize(REFUSAL, AT)
    assert (message.topic, message.raw) == ("OnInventoryDeductFailed", False)
