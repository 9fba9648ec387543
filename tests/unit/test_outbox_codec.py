"""Outcome events as outbox rows: the payloads of DESIGN.md section 6, the topics, the ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from product_service.contract.product.v1 import events_pb2 as pb
from product_service.contract.topics import Topics
from product_service.domain.events import (
    DeductedSku,
    FailedLine,
    InventoryDeducted,
    InventoryDeductFailed,
    InventoryReverted,
)
from product_service.domain.model import FailureReason
from product_service.infrastructure.outbox_codec import EventSerializer

AT = datetime(2026, 12, 3, tzinfo=UTC)


def test_success_payload_matches_the_contract_example() -> None:
    message = EventSerializer(Topics()).serialize(
        InventoryDeducted(1001, (DeductedSku(71, 2, 48, 10),)), AT
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
    message = EventSerializer(Topics(deduct_failed="failed-topic")).serialize(event, AT)
    assert message.topic == "failed-topic"
    assert json.loads(message.payload) == {
        "OrderId": "8",
        "Reason": "UNKNOWN_SKU",
        "Lines": [
            {"SkuId": "1", "Requested": 2, "Available": 5, "Reason": "NONE"},
            {"SkuId": "9", "Requested": 1, "Available": 0, "Reason": "UNKNOWN_SKU"},
        ],
    }


def test_every_failure_reason_is_a_value_of_the_contracts_enum() -> None:
    assert [reason.value for reason in FailureReason] == list(pb.FailureReason.keys())


def test_the_row_carries_the_id_the_event_was_made_with() -> None:
    event = InventoryReverted(3, ())
    assert EventSerializer(Topics()).serialize(event, AT).event_id == event.event_id


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
        payload: object = serializer.serialize(event, AT).payload
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
