"""The order simulator's payloads and its file of received events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from order_simulator import OrderSimulator
from order_simulator.client import payment_payload, success_payload
from order_simulator.received import ReceivedWriter, order_id_of, parse_line
from order_simulator.topics import Topics


def test_payment_uses_the_go_services_field_names() -> None:
    assert payment_payload(7, [(1, 11, 2)]) == {
        "OrderId": "7",
        "OrderDetails": [{"product_id": "1", "sku_id": "11", "quantity": 2}],
    }


def test_rejected_success_accepts_pairs_or_received_sku_entries() -> None:
    entry = {"Id": "5", "Quantity": 1, "Stock": 3, "Threshold": 1}
    assert success_payload(9, [(4, 2), entry]) == {
        "OrderId": "9",
        "Sku": [{"Id": "4", "Quantity": 2}, entry],
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [({"OrderId": "12"}, "12"), ({"orderId": 13}, "13"), ({"x": 1}, ""), ("not json", "")],
)
def test_order_id_is_read_in_either_spelling(data: object, expected: str) -> None:
    assert order_id_of(data) == expected


def test_a_torn_line_is_skipped() -> None:
    assert parse_line('{"topic": "T", "id"') is None
    assert parse_line("") is None


def test_written_events_are_read_back_and_filtered(tmp_path: Path) -> None:
    path = tmp_path / "received.jsonl"
    writer = ReceivedWriter(path)
    writer.append("OnInventoryDeductSuccess", "e1", json.dumps({"OrderId": "1"}).encode())
    writer.append("OnInventoryDeductFailed", "e2", json.dumps({"OrderId": "2"}).encode())
    writer.append("OnInventoryReverted", "e3", b"\xffnot json")
    with OrderSimulator(1, path) as client:  # the channel connects lazily: nothing listens
        assert [r.id for r in client.received()] == ["e1", "e2", "e3"]
        assert [r.id for r in client.received(order_id=2)] == ["e2"]
        assert [r.id for r in client.received(topic="OnInventoryDeductSuccess")] == ["e1"]
        assert client.received(order_id=1)[0].data == {"OrderId": "1"}
        assert client.received(topic="OnInventoryReverted")[0].data == "\ufffdnot json"


def test_wait_for_names_what_arrived_when_it_times_out(tmp_path: Path) -> None:
    path = tmp_path / "received.jsonl"
    ReceivedWriter(path).append("OnInventoryDeductFailed", "e9", b'{"OrderId": "5"}')
    with OrderSimulator(1, path) as client:
        assert len(client.wait_for(5, timeout=1)) == 1
        with pytest.raises(TimeoutError, match="OnInventoryDeductFailed"):
            client.wait_for(5, topic="OnInventoryDeductSuccess", timeout=0.2)


def test_a_topic_suffix_renames_only_contract_and_legacy_topics_on_the_wire() -> None:
    names = Topics("run-1")
    assert names.wire("OnPaymentSuccess") == "OnPaymentSuccess.run-1"
    assert names.wire("OrderEvent") == "run-1-OrderEvent"
    assert names.wire("smoke") == "smoke"
    assert names.contract("OnInventoryReverted.run-1") == "OnInventoryReverted"
    assert Topics().wire("OnPaymentSuccess") == "OnPaymentSuccess"
