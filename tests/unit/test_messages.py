"""Inbound messages: Go and lowerCamel field names parse; the fast path agrees with protobuf."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from product_service.contract.product.v1 import events_pb2 as pb
from product_service.contract.topics import Topics
from product_service.domain.commands import DeductInventory, OrderLine
from product_service.domain.events import DeductedSku, InventoryDeducted
from product_service.infrastructure.outbox_codec import EventSerializer
from product_service.interfaces.messages import (
    MalformedEvent,
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


def test_a_success_payload_sent_back_parses_as_a_revert() -> None:
    event = InventoryDeducted(77, (DeductedSku(1, 1, 1, 1),))
    message = EventSerializer(Topics()).serialize(event, datetime(2026, 1, 1, tzinfo=UTC))
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
