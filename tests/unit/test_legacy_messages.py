"""Legacy records to commands: the v7 BaseEvent (protobuf and JSON bodies), the bare era, a
record written by hand from the spec's bytes, other event types ignored, and every way a record
can be unreadable refused with its reason."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from product_service.contract.legacy_wire import Era
from product_service.domain.commands import DeductInventory, OrderLine, RevertInventory
from product_service.domain.model import Dialect
from product_service.interfaces.legacy_messages import Ignored, LegacyReader, traceparent_in
from product_service.interfaces.messages import MalformedEvent
from tests.legacy_records import (
    MILLIS,
    bare_record,
    base_event,
    record,
    v7_json_record,
    v7_payment,
    v7_record,
    v7_sent_back,
)
from tests.unit.test_legacy_codec import field

V7, BARE = LegacyReader(Era.V7), LegacyReader(Era.BARE)
LEGACY = Dialect.LEGACY
PAID = DeductInventory(7, (OrderLine(71, 2, 3), OrderLine(72, 1, 3)), "go-event-7", LEGACY)


def test_a_v7_payment_becomes_a_deduct_told_in_the_legacy_dialect() -> None:
    assert V7.payment(v7_record(7, (71, 2), (72, 1), product_id=3), "delivery-1") == PAID


def test_a_v7_payment_with_a_json_body_reads_the_same() -> None:
    assert V7.payment(v7_json_record(7, (71, 2), (72, 1), product_id=3), "delivery-1") == PAID


def test_a_record_without_content_type_is_read_as_json_as_go_micro_does() -> None:
    document = json.loads(v7_json_record(7, (71, 2), (72, 1), product_id=3))
    del document["Header"]["Content-Type"]
    assert V7.payment(json.dumps(document).encode(), "d") == PAID


def test_a_payment_written_by_hand_from_the_spec_reads_as_that_order() -> None:
    detail = field(1, 3) + field(2, 71) + field(3, 2)  # OrderDetail
    payment = field(1, 7) + field(2, detail)  # OnPaymentSuccess
    body = field(2, MILLIS) + field(3, b"OnPaymentSuccess") + field(4, payment)  # BaseEvent
    value = json.dumps(
        {
            "Header": {"Content-Type": "application/grpc+proto", "Event_id": "e-1"},
            "Body": base64.b64encode(body).decode(),
        }
    )
    assert V7.payment(value.encode(), "d") == DeductInventory(
        7, (OrderLine(71, 2, 3),), "e-1", LEGACY
    )


def test_a_bare_payment_names_its_skus_as_product_sizes() -> None:
    assert BARE.payment(bare_record(7, (71, 2), (72, 1), product_id=3), "d") == PAID


def test_without_an_event_id_the_delivery_id_is_the_message_id() -> None:
    document = json.loads(v7_record(7, (71, 2)))
    del document["Header"]["Event_id"]
    assert V7.payment(json.dumps(document).encode(), "delivery-9").message_id == "delivery-9"
    document["Header"]["Event_id"] = "x" * 65  # no uuid: not taken as the message's id
    assert V7.payment(json.dumps(document).encode(), "delivery-9").message_id == "delivery-9"


def test_a_record_sent_back_on_product_event_dlq_is_a_revert() -> None:
    assert V7.rejected(v7_sent_back(9, (71, 2)), "d") == RevertInventory(9, "our-event-9", LEGACY)


def test_a_sent_back_success_renamed_to_its_dlq_event_type_is_a_revert_too() -> None:
    body = base_event("OnInventoryDeductSuccessDLQ", field(1, 9)).SerializeToString()
    assert V7.rejected(record(body, 9), "d").order_id == 9


def test_a_bare_success_sent_back_is_a_revert() -> None:
    body = field(1, 9) + field(3, field(1, 71) + field(2, 2))
    assert BARE.rejected(record(body, 9), "d").order_id == 9


@pytest.mark.parametrize(
    ("read", "event_type"),
    [
        (V7.payment, "OnOrderCancelled"),
        (V7.payment, "OnPaymentSuccessDLQ"),  # our own refusal, should it come round
        (V7.rejected, "OnPaymentSuccessDLQ"),
    ],
)
def test_other_event_types_on_a_shared_topic_are_ignored(read: object, event_type: str) -> None:
    body = base_event(event_type, v7_payment(7, (71, 2)).SerializeToString()).SerializeToString()
    with pytest.raises(Ignored) as ignored:
        read(record(body, 7), "d")  # type: ignore[operator]
    assert (ignored.value.event_type, ignored.value.label) == (event_type, event_type)


def test_an_event_type_label_is_a_name_or_other() -> None:
    assert Ignored("Drop table; --").label == "other"
    assert Ignored("x" * 65).label == "other"


def body_of(data: bytes) -> bytes:
    return base64.b64decode(json.loads(data)["Body"])


GOOD = v7_record(7, (71, 2))
BASE_EVENT = body_of(GOOD)


def with_body(body: bytes, **header: str) -> bytes:
    return record(body, 7, **header)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"Header": {"Pkey": 7}, "Body": "CAE="}', "Header is not an object of strings"),
        (b'{"Header": "x", "Body": "CAE="}', "Header is not an object of strings"),
        (b'{"Header": {}}', "no Body"),
        (b'{"Header": {}, "Body": ""}', "no Body"),
        (b'{"Header": {}, "Body": 5}', "no Body"),
        (b'{"Header": {}, "Body": "not base64!"}', "Body is not base64"),
        (with_body(BASE_EVENT[:-3]), "Body is not a BaseEvent"),
        (with_body(BASE_EVENT, **{"Content-Type": "text/plain"}), "unknown Content-Type"),
        (with_body(b"{", **{"Content-Type": "application/json"}), "Body is not a BaseEvent"),
        (with_body(b"\xff", **{"Content-Type": "application/json"}), "Body is not a BaseEvent"),
        (with_body(base_event("", b"").SerializeToString()), "BaseEvent has no event_type"),
        (
            with_body(base_event("OnPaymentSuccess", b"\x0a\x05ab").SerializeToString()),
            "payload is not a OnPaymentSuccess",
        ),
    ],
)
def test_an_unreadable_record_is_malformed_and_says_why(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason) as refused:
        V7.payment(data, "d")
    assert refused.value.code == "MALFORMED_PAYLOAD"


def test_a_bare_body_that_is_not_a_payment_is_malformed() -> None:
    with pytest.raises(MalformedEvent, match="Body is not a OnPaymentSuccess"):
        BARE.payment(with_body(b"\x08"), "d")


READERS = (V7.payment, V7.rejected, BARE.payment, BARE.rejected)


def read_or_refusal(read: Callable[[bytes, str], object], data: bytes) -> bool:
    """True when `data` reads as a legacy command or is refused as malformed or not ours;
    any other exception fails the test."""
    try:
        command = read(data, "d")
    except (MalformedEvent, Ignored):
        return True
    return isinstance(command, DeductInventory | RevertInventory) and command.dialect is LEGACY


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["application/grpc+proto", "application/json"]))
def test_whatever_the_body_a_record_reads_as_a_command_or_a_clear_refusal(
    body: bytes, content_type: str
) -> None:
    for read in READERS:
        assert read_or_refusal(read, with_body(body, **{"Content-Type": content_type}))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_whatever_the_value_a_record_reads_as_a_command_or_a_clear_refusal(data: bytes) -> None:
    for read in READERS:
        assert read_or_refusal(read, data)


def test_the_go_publishers_trace_is_read_from_the_records_header() -> None:
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert traceparent_in(record(BASE_EVENT, 7, Traceparent=trace)) == trace
    assert traceparent_in(GOOD) is None  # none written
    assert traceparent_in(b"not json") is None
