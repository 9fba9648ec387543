"""Kafka seen directly, next to Dapr: a producer that writes what a Dapr publisher writes, and a
reader of everything a topic received after a given moment (dead-letter topics, partitions)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from devstack.kafka import dapr_cloud_event, dapr_partition


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes

    @property
    def envelope(self) -> dict[str, Any] | None:
        try:
            parsed = json.loads(self.value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    @property
    def data_text(self) -> str:
        """The event's data as text, whether the envelope embeds it as JSON or as base64."""
        envelope = self.envelope
        if envelope is None:
            return self.value.decode(errors="replace")
        if "data_base64" in envelope:
            return base64.b64decode(envelope["data_base64"]).decode(errors="replace")
        data = envelope.get("data")
        return data if isinstance(data, str) else json.dumps(data)


def order_of(record: Record) -> int | None:
    """The OrderId in a record's event data, or None (no JSON object, no integer id)."""
    data = (record.envelope or {}).get("data")
    if not isinstance(data, dict):
        return None
    try:
        return int(data.get("OrderId", 0))
    except (TypeError, ValueError):
        return None


class DaprStyleProducer:
    """Writes CloudEvent envelopes into Kafka exactly as a Dapr publisher would, keyed like
    Dapr's `partitionKey`, so the product service cannot tell them from sidecar traffic."""

    def __init__(self, bootstrap: str, pubsub_name: str = "pubsub", source: str = "e2e-raw"):
        self._producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        self._bootstrap = bootstrap
        self._pubsub = pubsub_name
        self._source = source
        self._partitions: dict[str, int] = {}

    def publish(self, topic: str, data: Any, key: str, event_id: str | None = None) -> int:
        """Writes one event and waits for the broker; returns the partition it went to."""
        envelope = dapr_cloud_event(
            topic, data, event_id or str(uuid.uuid4()), self._source, self._pubsub
        )
        partition = dapr_partition(key, self.partition_count(topic))
        errors: list[KafkaError] = []

        def delivered(err: KafkaError | None, _msg: object) -> None:
            if err is not None:
                errors.append(err)

        self._producer.produce(
            topic,
            value=json.dumps(envelope).encode(),
            key=key.encode(),
            partition=partition,
            headers=[("partitionKey", key.encode())],
            on_delivery=delivered,
        )
        remaining = self._producer.flush(30)
        assert remaining == 0 and not errors, f"raw publish to {topic} failed: {errors}"
        return partition

    def partition_count(self, topic: str) -> int:
        if topic not in self._partitions:
            meta = self._producer.list_topics(topic, timeout=30)
            self._partitions[topic] = len(meta.topics[topic].partitions)
        return self._partitions[topic]


class TopicTail:
    """Everything written to a topic after this object was made (the end offsets then)."""

    def __init__(self, bootstrap: str, topic: str, group_id: str):
        self.topic = topic
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        meta = self._consumer.list_topics(topic, timeout=30)
        assigned = []
        for partition in meta.topics[topic].partitions:
            _low, high = self._consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=30
            )
            assigned.append(TopicPartition(topic, partition, high))
        self._consumer.assign(assigned)
        self.records: list[Record] = []

    def wait_for(self, matches: Callable[[Record], bool], timeout: float = 60) -> list[Record]:
        """Reads until a record matches; returns all matching records read so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._poll(1.0)
            found = [r for r in self.records if matches(r)]
            if found:
                return found
        raise AssertionError(
            f"no matching record on {self.topic} within {timeout}s "
            f"({len(self.records)} other records read)"
        )

    def wait_count(
        self, matches: Callable[[Record], bool], count: int, timeout: float = 60
    ) -> list[Record]:
        """Reads until `count` records match (or the timeout); returns the matching ones."""
        deadline = time.monotonic() + timeout
        found = [r for r in self.records if matches(r)]
        while len(found) < count and time.monotonic() < deadline:
            self._poll(1.0)
            found = [r for r in self.records if matches(r)]
        return found

    def read(self, seconds: float) -> list[Record]:
        """Reads for `seconds`; returns every record read so far."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self._poll(min(0.5, max(until - time.monotonic(), 0.01)))
        return self.records

    def drain(self, seconds: float = 2.0) -> list[Record]:
        """Reads what is there now (until the topic stays quiet for `seconds`)."""
        quiet_until = time.monotonic() + seconds
        while time.monotonic() < quiet_until:
            if self._poll(0.5):
                quiet_until = time.monotonic() + seconds
        return self.records

    def close(self) -> None:
        self._consumer.close()

    def _poll(self, timeout: float) -> bool:
        message = self._consumer.poll(timeout)
        if message is None:
            return False
        error = message.error()
        if error is not None:
            # Only a fatal error ends the read; others (end of partition, a broker that is
            # restarting) are librdkafka's to recover from while the caller's deadline runs.
            assert not error.fatal(), f"Kafka consumer of {self.topic}: {error}"
            return False
        key = message.key()
        self.records.append(
            Record(
                topic=message.topic() or self.topic,
                partition=message.partition() or 0,
                offset=message.offset() or 0,
                key=key.decode() if key is not None else None,
                value=message.value() or b"",
            )
        )
        return True
