"""Which Kafka partitions of which topics this replica receives.

The sidecar, not the app, is the consumer group member, and Dapr tells the app nothing about
assignments; but the Kafka component sends each message's partition along with it (metadata
`__partition`). So a replica knows a partition it holds once a message of it arrives: it counts
messages per topic and partition (product_partition_messages_total) and logs when a partition
starts delivering, or delivers again after a quiet minute (after a rebalance, typically). The
broker's view (`kafka-consumer-groups.sh --describe --members --verbose`) stays the authority:
a held partition without traffic shows only there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from product_service.infrastructure.metrics import PARTITION_MESSAGES

log = logging.getLogger(__name__)

QUIET_SECONDS = 60.0


class PartitionWatch:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._last: dict[tuple[str, str], float] = {}  # (topic, partition) -> last delivery
        self._guard = threading.Lock()

    def delivered(self, topic: str, partition: str | None, count: int = 1) -> None:
        if not partition:  # not from Kafka (the embedded profile's in-memory pub/sub)
            return
        PARTITION_MESSAGES.labels(topic, partition).inc(count)
        now = self._monotonic()
        with self._guard:
            last = self._last.get((topic, partition))
            self._last[topic, partition] = now
            if last is not None and now - last < QUIET_SECONDS:
                return
            receiving = self._receiving(topic, now)
        log.info(
            "%s partition %s delivers to this replica (receiving %s of %s)",
            topic,
            partition,
            ",".join(receiving),
            topic,
        )

    def receiving(self, topic: str) -> list[str]:
        """The partitions of `topic` that delivered within the last QUIET_SECONDS."""
        with self._guard:
            return self._receiving(topic, self._monotonic())

    def _receiving(self, topic: str, now: float) -> list[str]:
        fresh = (p for (t, p), at in self._last.items() if t == topic and now - at < QUIET_SECONDS)
        return sorted(fresh, key=lambda partition: (len(partition), partition))
