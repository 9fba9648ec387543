"""Kafka as Dapr uses it: what a Dapr publisher writes (envelope, partition), and starting a new
consumer group at the current end of its topics.

The full profile's pub/sub reads a new consumer group from the oldest offset, so that nothing
published before the sidecar joined is skipped. For a fresh per-run group in tests that would
replay every earlier run's messages; committing the topic ends first makes the group start at
"now" while still receiving everything published after the stack was created.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

FNV32_OFFSET = 0x811C9DC5
FNV32_PRIME = 0x01000193


def dapr_partition(key: str, partitions: int) -> int:
    """The partition daprd's Kafka publisher picks for `partitionKey` = key.

    daprd uses sarama's hash partitioner: FNV-1a 32 of the key, taken as int32, Go's truncating
    `%`, then the absolute value. librdkafka's own partitioners differ, so producers that stand
    in for Dapr name the partition explicitly and land next to what Dapr published with the key.
    """
    h = FNV32_OFFSET
    for byte in key.encode():
        h = ((h ^ byte) * FNV32_PRIME) & 0xFFFFFFFF
    signed = h - (1 << 32) if h >= (1 << 31) else h
    return abs(signed) % partitions


def dapr_cloud_event(
    topic: str,
    data: Any,
    event_id: str,
    source: str,
    pubsub: str = "pubsub",
    at: datetime | None = None,
) -> dict[str, Any]:
    """The CloudEvent envelope a Dapr publisher writes into Kafka (JSON data inline)."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": "com.dapr.event.sent",
        "datacontenttype": "application/json",
        "topic": topic,
        "pubsubname": pubsub,
        "time": (at or datetime.now(UTC)).isoformat(),
        "data": data,
    }


def start_group_at_end(
    brokers: str, group: str, topics: Sequence[str], timeout: float = 10
) -> bool:
    """Commit the end offsets of `topics` for `group` unless it already has offsets.

    Returns True when offsets were committed. Topics that do not exist yet are left alone
    (they start empty, so reading them from the oldest offset is right).
    """
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False}
    )
    try:
        cluster = consumer.list_topics(timeout=timeout)
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in cluster.topics
            for p in cluster.topics[topic].partitions
        ]
        if not partitions:
            return False
        committed = consumer.committed(partitions, timeout=timeout)
        if any(tp.offset >= 0 for tp in committed):
            return False
        ends = [
            TopicPartition(tp.topic, tp.partition, _end_offset(consumer, tp, timeout))
            for tp in partitions
        ]
        consumer.commit(offsets=ends, asynchronous=False)
        return True
    finally:
        consumer.close()


def _end_offset(consumer: Any, partition: Any, timeout: float) -> int:
    """The high watermark; a just-created partition refuses until its leader has loaded it."""
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + timeout
    while True:
        try:
            return int(consumer.get_watermark_offsets(partition, timeout)[1])
        except KafkaException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def ensure_topics(
    brokers: str, topics: Sequence[str], partitions: int = 6, timeout: float = 15
) -> None:
    """Create the topics that do not exist yet (a per-run topic suffix makes new ones)."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": brokers})
    existing = admin.list_topics(timeout=timeout).topics
    wanted = [NewTopic(t, num_partitions=partitions) for t in topics if t not in existing]
    if not wanted:
        return
    for topic, future in admin.create_topics(wanted, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RuntimeError(f"could not create Kafka topic {topic}: {exc}") from exc
    _wait_for_leaders(admin, [t.topic for t in wanted], timeout)


def delete_topics(brokers: str, topics: Sequence[str], timeout: float = 10) -> list[str]:
    """Delete `topics` (those that exist); the names not deleted, which the caller may report.

    A broker pays for every partition it holds, idle or not (log flushes, high-watermark
    checkpoints, metrics), so a stack deletes the topics it made when it stops."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": brokers})
    existing = admin.list_topics(timeout=timeout).topics
    names = [t for t in topics if t in existing]
    if not names:
        return []
    left: list[str] = []
    for topic, future in admin.delete_topics(names, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException:
            left.append(topic)
    return left


def broker_size(brokers: str, timeout: float = 10) -> tuple[int, int]:
    """(topics, partitions) the broker holds, its internal topics included."""
    from confluent_kafka.admin import AdminClient

    cluster = AdminClient({"bootstrap.servers": brokers}).list_topics(timeout=timeout)
    return len(cluster.topics), sum(len(t.partitions) for t in cluster.topics.values())


def _wait_for_leaders(admin: Any, names: Sequence[str], timeout: float) -> None:
    """New topics answer offset requests only once every partition has a leader."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster = admin.list_topics(timeout=timeout).topics
        if all(
            name in cluster
            and cluster[name].partitions
            and all(p.leader >= 0 and p.error is None for p in cluster[name].partitions.values())
            for name in names
        ):
            return
        time.sleep(0.1)
    raise RuntimeError(f"Kafka topics without partition leaders after {timeout}s: {names}")


# A member's partitions: topic -> partition numbers, sorted.
Partitions = dict[str, list[int]]


def group_assignment(brokers: str, group: str, timeout: float = 10) -> dict[str, Partitions]:
    """The consumer group's current assignment as the broker has it: client id -> topic ->
    partitions (devstack gives each replica's sidecar its replica name as Kafka client id).

    Empty while the group rebalances or has no members."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": brokers})
    [future] = admin.describe_consumer_groups([group], request_timeout=timeout).values()
    described = future.result(timeout)
    held: dict[str, Partitions] = {}
    for member in described.members:
        topics: Partitions = held.setdefault(member.client_id, {})
        for tp in member.assignment.topic_partitions if member.assignment else []:
            topics.setdefault(tp.topic, []).append(tp.partition)
    for topics in held.values():
        for partitions in topics.values():
            partitions.sort()
    return held
