"""The load on Kafka: paid orders, paced and written as a Dapr publisher would, and the outcome
events read back, matched to their orders as they arrive."""

from __future__ import annotations

import base64
import json
import math
import random
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.full_path.config import LINES_PER_ORDER
from bench.full_path.metrics import percentile
from devstack.kafka import dapr_cloud_event, dapr_partition


def scheduled_count(elapsed: float, rate: float) -> int:
    """Orders due `elapsed` seconds after the start at `rate`/s: order k is due at k / rate."""
    if elapsed < 0:
        return 0
    return math.floor(elapsed * rate + 1e-9) + 1


@dataclass(frozen=True)
class Order:
    order_id: int
    lines: tuple[tuple[int, int, int], ...]  # (product id, SKU id, quantity)

    def data(self) -> dict[str, Any]:
        """OnPaymentSuccess as the order service writes it (64-bit ids as strings)."""
        return {
            "OrderId": str(self.order_id),
            "OrderDetails": [
                {"product_id": p, "sku_id": s, "quantity": q} for p, s, q in self.lines
            ],
        }


def make_orders(
    rng: random.Random,
    catalog: Sequence[tuple[int, int]],
    first_id: int,
    count: int,
    hot: tuple[int, int] | None = None,
) -> list[Order]:
    """`count` orders of 3 lines: distinct random SKUs of `catalog` ((product id, SKU id)),
    quantity 1-3. With `hot`, every other order has that SKU as one of its lines and the
    others never do: exactly half (rounded up) of the orders include it."""
    if len(catalog) < LINES_PER_ORDER + (1 if hot else 0):
        raise ValueError(f"a catalog of {len(catalog)} SKUs is too small")
    cold = [entry for entry in catalog if entry != hot] if hot else list(catalog)
    orders = []
    for n in range(count):
        if hot is not None and n % 2 == 0:
            picked = [hot, *rng.sample(cold, LINES_PER_ORDER - 1)]
            rng.shuffle(picked)
        else:
            picked = rng.sample(cold, LINES_PER_ORDER)
        lines = tuple((p, s, rng.randint(1, 3)) for p, s in picked)
        orders.append(Order(first_id + n, lines))
    return orders


def cloud_event(topic: str, data: Any, event_id: str, at: datetime) -> bytes:
    """A payment record's value: the envelope a Dapr publisher writes, compact JSON."""
    envelope = dapr_cloud_event(topic, data, event_id, "bench-full-path", at=at)
    return json.dumps(envelope, separators=(",", ":")).encode()


def outcome_of(value: bytes | None) -> tuple[int, str] | None:
    """(order id, CloudEvent id) of an outcome record, or None when it has neither."""
    try:
        envelope = json.loads(value or b"")
        if not isinstance(envelope, dict):
            return None
        data = envelope.get("data")
        if "data_base64" in envelope:
            data = json.loads(base64.b64decode(envelope["data_base64"]))
        elif isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, dict) or "id" not in envelope:
            return None
        return int(data["OrderId"]), str(envelope["id"])
    except (ValueError, TypeError, KeyError):
        return None


class PaymentProducer:
    """Writes OnPaymentSuccess records as a Dapr publisher does: CloudEvent envelope, record key
    and partitionKey header = order id, the partition daprd's hash would pick."""

    def __init__(self, brokers: str, topic: str, linger_ms: float = 5) -> None:
        from confluent_kafka import Producer

        self.topic = topic
        self._producer = Producer(
            {
                "bootstrap.servers": brokers,
                "enable.idempotence": True,
                # 5 ms: orders reach the broker in batches, as from many order services; 0
                # sends each at once, as one daprd publisher (sarama's SyncProducer) does,
                # and makes the broker take a request per order (--linger-ms).
                "linger.ms": linger_ms,
                "queue.buffering.max.messages": 1_000_000,
                "client.id": "bench-full-path",
            }
        )
        meta = self._producer.list_topics(topic, timeout=30)
        self.partitions = len(meta.topics[topic].partitions)
        self.errors = 0

    def send(self, order: Order) -> float:
        """Produces one order; returns the monotonic time of the produce() call."""
        key = str(order.order_id)
        value = cloud_event(self.topic, order.data(), str(uuid.uuid4()), datetime.now(UTC))
        partition = dapr_partition(key, self.partitions)
        while True:
            at = time.monotonic()
            try:
                self._producer.produce(
                    self.topic,
                    value=value,
                    key=key.encode(),
                    partition=partition,
                    headers=[("partitionKey", key.encode())],
                    on_delivery=self._delivered,
                )
                return at
            except BufferError:
                self._producer.poll(0.01)

    def poll(self) -> None:
        self._producer.poll(0)

    def flush(self, timeout: float = 30) -> int:
        return int(self._producer.flush(timeout))

    def _delivered(self, err: Any, _message: Any) -> None:
        if err is not None:
            self.errors += 1


class OutcomeReader:
    """Reads both outcome topics from their beginning in its own thread: per order the first
    receipt (monotonic seconds), the CloudEvent ids with their contract topic, and copies."""

    def __init__(self, brokers: str, wire_to_contract: Mapping[str, str]) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        self._contract = dict(wire_to_contract)
        self._consumer = Consumer(
            {
                "bootstrap.servers": brokers,
                "group.id": f"bench-reader-{uuid.uuid4().hex[:12]}",
                "enable.auto.commit": False,
                # The broker answers a waiting fetch as soon as a record arrives, so a long
                # wait adds no latency; a short one only makes the idle broker (and this
                # process) answer empty fetches, 20 a second at 50 ms.
                "fetch.wait.max.ms": 500,
            }
        )
        cluster = self._consumer.list_topics(timeout=30)
        self._consumer.assign(
            [
                TopicPartition(topic, partition, OFFSET_BEGINNING)
                for topic in self._contract
                for partition in cluster.topics[topic].partitions
            ]
        )
        self.lock = threading.Lock()
        self.first: dict[int, float] = {}
        self.events: dict[int, dict[str, str]] = defaultdict(dict)
        self.copies: dict[int, int] = defaultdict(int)
        self.arrivals: list[tuple[int, float]] = []  # first receipts, in the order read
        self.unparsed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outcome-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            # consume() waits for num_messages or the timeout, whichever comes first: a long
            # timeout would add up to itself to every latency at low rates (it did: 50 ms).
            messages = self._consumer.consume(num_messages=1000, timeout=0.002)
            now = time.monotonic()
            for message in messages:
                if message.error() is None:
                    self._record(message.topic() or "", message.value(), now)

    def _record(self, topic: str, value: bytes | None, now: float) -> None:
        parsed = outcome_of(value)
        if parsed is None:
            self.unparsed += 1
            return
        order_id, event_id = parsed
        with self.lock:
            seen = self.events[order_id]
            if event_id in seen:
                self.copies[order_id] += 1
            seen[event_id] = self._contract.get(topic, topic)
            if order_id not in self.first:
                self.first[order_id] = now
                self.arrivals.append((order_id, now))

    def snapshot(self, order_ids: Iterable[int]) -> tuple[dict[int, dict[str, str]], int]:
        """Event ids per order and the number of extra copies read, for these orders."""
        with self.lock:
            events = {i: dict(self.events[i]) for i in order_ids if i in self.events}
            copies = sum(self.copies.get(i, 0) for i in events)
        return events, copies

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._consumer.close()


@dataclass
class Tracker:
    """One run's orders as they come back: latency per order, received counts, recent p99."""

    first_id: int
    produce_times: list[float]
    reader: OutcomeReader
    cursor: int
    receipts: list[float | None] = field(init=False)
    received: int = 0
    recent: deque[tuple[float, float]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.receipts = [None] * len(self.produce_times)

    def update(self) -> None:
        arrivals = self.reader.arrivals
        end = len(arrivals)
        for order_id, at in arrivals[self.cursor : end]:
            index = order_id - self.first_id
            if 0 <= index < len(self.receipts) and self.receipts[index] is None:
                self.receipts[index] = at
                self.received += 1
                self.recent.append((at, (at - self.produce_times[index]) * 1000))
        self.cursor = end
        horizon = time.monotonic() - 5
        while self.recent and self.recent[0][0] < horizon:
            self.recent.popleft()

    def recent_p99(self) -> float | None:
        return percentile(sorted(ms for _, ms in self.recent), 99)
