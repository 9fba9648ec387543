"""The wire contract: Go field names and lowerCamel both parse; output matches DESIGN.md."""

from __future__ import annotations

import json

import pytest

from product_service.domain.commands import OrderLine
from product_service.domain.events import (
    DeductedSku,
    FailedLine,
    InventoryDeducted,
    InventoryDeductFailed,
    InventoryReverted,
)
from product_service.domain.model import FailureReason
from product_service.infrastructure.event_codec import (
    EventSerializer,
    MalformedEvent,
    Topics,
    parse_deduct_rejected,
    parse_payment,
)

ORIGINAL = b'{"OrderId": 1001, "OrderDetails": [{"product_id": 7, "sku_id": 71, "quantity": 2}]}'
CAMEL = '{"orderId": "1001", "orderDetails": [{"productId": 7, "skuId": 71, "quantity": 2}]}'


@pytest.mark.parametrize("payload", [ORIGINAL, CAMEL])
def test_payment_parses_with_original_and_lower_camel_names(payload: bytes | str) -> None:
    command = parse_payment(payload, message_id="m-1")
    assert command.order_id == 1001
    assert command.lines == (OrderLine(71, 2, 7),)
    assert command.message_id == "m-1"


def test_unknown_fields_are_ignored() -> None:
    assert parse_payment('{"OrderId": 5, "Currency": "EUR", "OrderDetails": []}').order_id == 5


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"OrderId": "abc"}',
        b'{"OrderId": 1, "OrderDetails": [{"quantity": 2.5}]}',
        b"\xff\xfe",
        b'{"OrderId": 99999999999999999999}',
        b'{"OrderDetails": {"sku_id": 1}}',
    ],
)
def test_malformed_payloads_raise_a_clear_error(payload: bytes) -> None:
    with pytest.raises(MalformedEvent, match="OnPaymentSuccess payload is malformed"):
        parse_payment(payload)


def test_success_payload_matches_the_contract_example() -> None:
    message = EventSerializer(Topics()).serialize(
        InventoryDeducted(1001, (DeductedSku(71, 2, 48, 10),))
    )
    assert message.topic == "OnInventoryDeductSuccess"
    assert message.key == "1001"
    assert json.loads(message.payload) == {
        "OrderId": "1001",
        "Sku": [{"Id": "71", "Quantity": 2, "Stock": 48, "Threshold": 10}],
    }


def test_failure_payload_lists_requested_available_and_reason_per_line() -> None:
    event = InventoryDeductFailed(
        8,
        FailureReason.UNKNOWN_SKU,
        (FailedLine(1, 2, 5, FailureReason.NONE), FailedLine(9, 1, 0, FailureReason.UNKNOWN_SKU)),
    )
    message = EventSerializer(Topics(deduct_failed="failed-topic")).serialize(event)
    assert message.topic == "failed-topic"
    assert json.loads(message.payload) == {
        "OrderId": "8",
        "Reason": "UNKNOWN_SKU",
        "Lines": [
            {"SkuId": "1", "Requested": 2, "Available": 5, "Reason": "NONE"},
            {"SkuId": "9", "Requested": 1, "Available": 0, "Reason": "UNKNOWN_SKU"},
        ],
    }


def test_event_ids_are_stable_per_event_type_and_order() -> None:
    serializer = EventSerializer(Topics())
    first = serializer.serialize(InventoryReverted(3, ()))
    assert serializer.serialize(InventoryReverted(3, ())).event_id == first.event_id
    assert serializer.serialize(InventoryReverted(4, ())).event_id != first.event_id
    assert serializer.serialize(InventoryDeducted(3, ())).event_id != first.event_id


def test_a_success_payload_sent_back_parses_as_a_revert() -> None:
    message = EventSerializer(Topics()).serialize(InventoryDeducted(77, (DeductedSku(1, 1, 1, 1),)))
    assert parse_deduct_rejected(message.payload, "dlq-1").order_id == 77


@pytest.mark.parametrize("payload", [b'"not json"', b"[1, 2]", b"42", b"null"])
def test_a_payload_that_is_not_a_json_object_is_malformed(payload: bytes) -> None:
    with pytest.raises(MalformedEvent, match="must be a JSON object"):
        parse_payment(payload)
