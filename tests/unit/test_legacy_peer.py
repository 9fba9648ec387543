"""The wrapper of tools/legacy_peer: reading its JSON lines and waiting for records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.legacy_peer import Consumer, TooMany, header_args, line_args, parse_output

READY = {"ready": {"group": "order-consumer", "partitions": 6, "topics": ["ProductEvent"]}}


def record(order_id: int, *, topic: str = "ProductEvent", accepted: bool = True) -> dict:
    return {
        "topic": topic,
        "partition": 0,
        "offset": order_id,
        "key": None,
        "record_headers": {},
        "value": '{"Header":{},"Body":""}',
        "header": {
            "Content-Type": "application/grpc+proto",
            "Event-Type": "OnInventoryDeductSuccess",
        },
        "event_type": "OnInventoryDeductSuccess",
        "timestamp": 1700000000123,
        "payload_type": "OnInventoryDeductSuccess",
        "payload": {
            "OrderId": order_id,
            "Sku": [{"Id": 1001, "Quantity": 2, "Stock": 8, "Threshold": 0}],
        },
        "decode_error": None,
        "order_service": {"accepted": accepted, "handler": "OnInventoryDeductSuccess"},
    }


def jsonl(*objs: dict) -> str:
    return "".join(json.dumps(o) + "\n" for o in objs)


def test_output_is_sorted_into_ready_records_and_republished():
    out = parse_output(
        jsonl(READY, record(1), {"republished": {"topic": "ProductEventDLQ"}}, record(2))
    )
    assert out.ready
    assert [r.order_id for r in out.records] == [1, 2]
    assert out.records[0].accepted and out.records[0].payload_type == "OnInventoryDeductSuccess"
    assert out.republished == [{"topic": "ProductEventDLQ"}]


def test_a_line_still_being_written_is_left_for_later():
    text = jsonl(record(1)) + json.dumps(record(2))[:40]
    assert [r.order_id for r in parse_output(text).records] == [1]


def test_a_record_that_did_not_decode_has_no_order():
    line = {
        "topic": "ProductEvent",
        "value": "not json",
        "header": None,
        "payload": None,
        "decode_error": "invalid character",
        "order_service": {"accepted": False, "error": "x"},
    }
    (r,) = parse_output(jsonl(line)).records
    assert r.order_id is None and not r.accepted and r.decode_error == "invalid character"


def test_order_lines_and_headers_become_repeated_flags():
    assert line_args([(1001, 2), (1002, 1, 7)]) == ["--line", "1001:2", "--line", "1002:1:7"]
    assert header_args("--header", {"a": "1"}) == ["--header", "a=1"]


def consumer_on(tmp_path: Path, *objs: dict) -> Consumer:
    out = tmp_path / "consume.jsonl"
    out.write_text(jsonl(*objs))
    return Consumer(["legacy_peer", "consume"], out)  # not started: reads the file only


def test_expect_returns_exactly_the_matching_records(tmp_path: Path):
    c = consumer_on(tmp_path, READY, record(1), record(2, topic="OrderEventDLQ"), record(3))
    found = c.expect(2, lambda r: r.topic == "ProductEvent", timeout=1)
    assert [r.order_id for r in found] == [1, 3]


def test_expect_fails_at_once_on_more_records_than_expected(tmp_path: Path):
    c = consumer_on(tmp_path, record(1), record(1))
    with pytest.raises(TooMany):
        c.expect(1, lambda r: r.order_id == 1, timeout=30)


def test_expect_fails_at_the_deadline_on_fewer(tmp_path: Path):
    c = consumer_on(tmp_path, record(1))
    with pytest.raises(AssertionError, match="1 of 2 records"):
        c.expect(2, timeout=0.3)
