"""What devstack writes as a stand-in for a Dapr publisher (tests/e2e's scenario 3 checks on the
broker that such records land in the partition daprd picks for the same key)."""

from __future__ import annotations

from datetime import UTC, datetime

from devstack.kafka import dapr_cloud_event, dapr_partition


def test_the_partition_is_within_range_and_spreads_keys() -> None:
    assert {dapr_partition(str(i), 6) for i in range(100)} == set(range(6))
    assert all(0 <= dapr_partition(key, 7) < 7 for key in ("", "a", "order-x", "9" * 30))


def test_the_envelope_carries_what_daprd_reads() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    envelope = dapr_cloud_event("OnPaymentSuccess.x", {"OrderId": "1"}, "id-1", "raw", at=at)
    assert envelope == {
        "specversion": "1.0",
        "id": "id-1",
        "source": "raw",
        "type": "com.dapr.event.sent",
        "datacontenttype": "application/json",
        "topic": "OnPaymentSuccess.x",
        "pubsubname": "pubsub",
        "time": "2026-01-02T03:04:05+00:00",
        "data": {"OrderId": "1"},
    }
