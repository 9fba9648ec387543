"""Start a new Kafka consumer group at the current end of its topics.

The full profile's pub/sub reads a new consumer group from the oldest offset, so that nothing
published before the sidecar joined is skipped. For a fresh per-run group in tests that would
replay every earlier run's messages; committing the topic ends first makes the group start at
"now" while still receiving everything published after the stack was created.
"""

from __future__ import annotations

from collections.abc import Sequence


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
            TopicPartition(tp.topic, tp.partition, consumer.get_watermark_offsets(tp, timeout)[1])
            for tp in partitions
        ]
        consumer.commit(offsets=ends, asynchronous=False)
        return True
    finally:
        consumer.close()
