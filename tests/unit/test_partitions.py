"""What a replica says about the partitions it receives: counted always, logged when one starts
delivering or delivers again after a quiet spell."""

from __future__ import annotations

import logging

import pytest

from product_service.infrastructure.partitions import QUIET_SECONDS, PartitionWatch


class Time:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_partition_is_logged_once_when_it_starts_delivering_and_again_after_a_quiet_spell(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = Time()
    watch = PartitionWatch(monotonic=time)
    caplog.set_level(logging.INFO, "product_service.infrastructure.partitions")

    watch.delivered("Paid", "2")
    watch.delivered("Paid", "0")
    time.now += 1
    watch.delivered("Paid", "2", count=5)
    time.now += QUIET_SECONDS + 1
    watch.delivered("Paid", "2")

    assert [r.getMessage() for r in caplog.records] == [
        "Paid partition 2 delivers to this replica (receiving 2 of Paid)",
        "Paid partition 0 delivers to this replica (receiving 0,2 of Paid)",
        "Paid partition 2 delivers to this replica (receiving 2 of Paid)",
    ]
    assert watch.receiving("Paid") == ["2"]
    assert watch.receiving("Other") == []


def test_messages_without_a_partition_are_not_from_kafka_and_not_counted() -> None:
    watch = PartitionWatch()
    watch.delivered("Paid", None)
    watch.delivered("Paid", "")
    assert watch.receiving("Paid") == []
