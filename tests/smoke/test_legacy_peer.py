"""The legacy peer (tools/legacy_peer) runs, and speaks order v7's format through Kafka.

Its topics and group carry a fresh `peertest-` prefix, created and deleted here, so the test
shares a broker with anything else."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.legacy_peer import LegacyPeer

from .conftest import KAFKA_PORT, require_port

pytestmark = pytest.mark.infra

V7_HEADERS = {
    "Content-Type",
    "Micro-Topic",
    "Event-Type",
    "Pkey",
    "Event_id",
    "Timestamp",
    "Source",
    "Schema_version",
    "Traceparent",
}


def test_publish_writes_order_v7s_record():
    peer = LegacyPeer.found(dry_run=True)
    (published,) = peer.publish(42, [(1001, 2, 7)])
    value = json.loads(published["value"])
    assert set(value) == {"Header", "Body"} and set(value["Header"]) == V7_HEADERS
    assert value["Header"]["Event-Type"] == "OnPaymentSuccess" and value["Header"]["Pkey"] == "42"
    assert published["event_type"] == "OnPaymentSuccess"
    assert published["payload"] == {
        "OrderId": 42,
        "OrderDetails": [{"product_id": 7, "sku_id": 1001, "quantity": 2}],
    }


@pytest.fixture
def peer() -> Iterator[LegacyPeer]:
    require_port("kafka", KAFKA_PORT)
    prefix = f"peertest-{uuid.uuid4().hex[:8]}-"
    peer = LegacyPeer.found(topic_prefix=prefix)
    names = [prefix + t for t in ("OrderEvent", "ProductEvent", "ProductEventDLQ", "OrderEventDLQ")]
    peer.topics("create", *names, partitions=2)
    try:
        yield peer
    finally:
        peer.topics("delete", *names)
        peer.topics("delete-group", prefix + "order-consumer")


def test_a_duplicate_and_a_dead_letter_go_through_kafka(peer: LegacyPeer, tmp_path: Path):
    order_event, dlq = peer.topic_prefix + "OrderEvent", peer.topic_prefix + "ProductEventDLQ"
    consumer = peer.consumer(
        tmp_path / "consume.jsonl",
        group=peer.topic_prefix + "order-consumer",
        topics=[order_event, dlq],
    )
    with consumer:
        published = peer.publish(42, [(1001, 2)], times=2)
        rejected = peer.reject(order_id=42, skus=[(1001, 2, 98, 10)])
        twice = consumer.expect(2, lambda r: r.topic == order_event)
        (dead,) = consumer.expect(1, lambda r: r.topic == dlq)
    assert [r.value for r in twice] == [published[0]["value"]] * 2
    assert twice[0].key is None and twice[0].record_headers == {}
    assert twice[0].payload == {
        "OrderId": 42,
        "OrderDetails": [{"product_id": 0, "sku_id": 1001, "quantity": 2}],
    }
    assert rejected is not None and dead.value == rejected["value"]
    assert dead.header is not None and dead.header["Event-Type"] == "DLQ"
    assert (
        dead.event_type == "OnInventoryDeductSuccess"
        and dead.order_service["action"] == "ConfirmPayment"
    )
