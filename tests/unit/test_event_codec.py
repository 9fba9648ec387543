"""The wire contract: Go field names and lowerCamel both parse; output matches DESIGN.md."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format
from hypothesis import example, given, settings
from hypothesis import strategies as st

from product_service.contract.product.v1 import events_pb2 as pb
from product_service.domain.commands import DeductInventory, OrderLine
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
    _from_dict,
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


def _through_protobuf(document: dict[str, object]) -> object:
    """What the protobuf JSON parser alone makes of a payment document."""
    try:
        message = _from_dict(document, pb.OnPaymentSuccess())
    except MalformedEvent:
        return MalformedEvent
    lines = tuple(OrderLine(d.sku_id, d.quantity, d.product_id) for d in message.OrderDetails)
    return DeductInventory(message.OrderId, lines, "m")


_numbers = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.integers(min_value=0, max_value=10**6).map(str),
    st.sampled_from(["007", "-5", "+5", " 5", "5 ", "1e3", "", "٣", "9" * 20, "1.0"]),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**31 - 1, 2**31, -(2**31) - 1]),
    st.sampled_from([2**63 - 1, 2**63, 2**31 - 1, 2**31]).map(str),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
_line_keys = st.sampled_from(["product_id", "sku_id", "quantity", "productId", "skuId", "x"])
_lines = st.dictionaries(_line_keys, _numbers, max_size=4)
_payment_keys = st.sampled_from(["OrderId", "OrderDetails", "orderId", "orderDetails", "x"])
_payments = st.dictionaries(
    _payment_keys,
    st.one_of(_numbers, st.lists(st.one_of(_lines, _numbers), max_size=4)),
    max_size=3,
)
_plain_payments = st.fixed_dictionaries(
    {
        "OrderId": _numbers,
        "OrderDetails": st.lists(
            st.fixed_dictionaries(
                {"product_id": _numbers, "sku_id": _numbers, "quantity": _numbers}
            ),
            max_size=4,
        ),
    }
)


def _one_line(order_id: object = "1", **line: object) -> dict[str, object]:
    return {
        "OrderId": order_id,
        "OrderDetails": [{"product_id": 1, "sku_id": 2, "quantity": 3, **line}],
    }


@settings(max_examples=400, deadline=None)
@given(st.one_of(_payments, _plain_payments))
@example(_one_line(quantity=2**31))
@example(_one_line(quantity=2**31 - 1))
@example(_one_line(quantity=-(2**31) - 1))
@example(_one_line(quantity=str(2**31)))
@example(_one_line(sku_id=2**63))
@example(_one_line(sku_id=str(2**63)))
@example(_one_line(sku_id=str(2**63 - 1)))
@example(_one_line(order_id=-(2**63) - 1))
@example(_one_line(product_id="007"))
def test_the_plain_payment_reader_agrees_with_the_protobuf_parser(
    document: dict[str, object],
) -> None:
    try:
        ours: object = parse_payment(json.dumps(document), "m")
    except MalformedEvent:
        ours = MalformedEvent
    assert ours == _through_protobuf(document)


_int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
_successes = st.builds(
    InventoryDeducted,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.lists(
        st.builds(
            DeductedSku,
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
            _int32,
            st.integers(min_value=-1, max_value=2**32),  # uint32 and both sides of its range
            st.integers(min_value=-1, max_value=2**32),
        ),
        max_size=5,
    ).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(_successes)
def test_the_success_payload_is_the_document_the_protobuf_printer_writes(
    event: InventoryDeducted,
) -> None:
    serializer = EventSerializer(Topics())
    try:
        payload: object = serializer.serialize(event).payload
    except ValueError:
        payload = ValueError
    try:
        message = pb.OnInventoryDeductSuccess(
            OrderId=event.order_id,
            Sku=[
                pb.DeductedSku(
                    Id=s.sku_id, Quantity=s.quantity, Stock=s.stock, Threshold=s.threshold
                )
                for s in event.skus
            ],
        )
        expected: object = json_format.MessageToJson(
            message,
            preserving_proto_field_name=True,
            indent=None,
            always_print_fields_with_no_presence=True,
        )
    except ValueError:
        expected = ValueError
    # The same JSON document: names, types (int64 as strings) and values; the protobuf printer
    # moves zero-valued fields last, which changes nothing for a JSON reader.
    assert _document(payload) == _document(expected)


def _document(payload: object) -> object:
    return json.loads(payload) if isinstance(payload, str) else payload
