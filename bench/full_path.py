"""Full-path throughput benchmark (issue 7): paid orders straight into Kafka, through the product
service's own daprd into the service and MariaDB, and its outcome events read back from Kafka.

    make bench                                   # scripts/infra up, then every scenario
    make bench BENCH_ARGS="--quick"              # 10 s probes, 20 s runs
    .venv/bin/python bench/full_path.py --scenario steady --quick \\
        --app-env PRODUCT_DATABASE_POOL_SIZE=20 --partitions 12     # after scripts/infra up

One stack serves every run: devstack's full profile (the product service beside its own daprd
on Kafka, the Redis lock store and MariaDB `product_bench`, dropped and migrated first; tracing
to Jaeger as the profile has it; no order simulator). A plain Kafka producer writes each paid
order as a Dapr publisher would (CloudEvent JSON envelope, key and partition by order id) into
this run's OnPaymentSuccess topic at a fixed rate; a consumer thread reads both outcome topics.
Every run is checked afterwards (one inbox row and one outcome event id per order, ledger,
stock, outbox); a violation makes the command exit 1. Numbers are printed and written to
bench/results/; they are never assertions.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from devstack import App, Stack
    from product_service.application.service import InventoryService

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))  # devstack, when run as a script

from devstack.kafka import dapr_cloud_event, dapr_partition  # noqa: E402
from devstack.net import port_open  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"
HOST = "127.0.0.1"
DATABASE_URL = os.environ.get(
    "PRODUCT_BENCH_MYSQL_URL", "mysql+pymysql://product:product@127.0.0.1:3306/product_bench"
)
# Infrastructure processes whose CPU is measured, found by the port they listen on (pid files
# of scripts/infra as a fallback).
INFRA_PORTS = {
    "kafka": int(os.environ.get("KAFKA_PORT", "9092")),
    "mariadb": int(os.environ.get("MARIADB_PORT", "3306")),
    "redis": int(os.environ.get("REDIS_PORT", "6379")),
    "jaeger": int(os.environ.get("JAEGER_OTLP_GRPC_PORT", "4317")),
}
INFRA_PID_FILES = {
    "kafka": "kafka/kafka.pid",
    "mariadb": "mariadb/mariadbd.pid",
    "redis": "redis/redis.pid",
    "jaeger": "jaeger/jaeger.pid",
}
PROCESSES = ("app", "daprd", "kafka", "mariadb", "redis", "jaeger", "bench")

# Contract topic names (order_simulator.topics); the stack gives them this run's suffix.
PAYMENT_TOPIC = "OnPaymentSuccess"
DEDUCTED_TOPIC = "OnInventoryDeductSuccess"
FAILED_TOPIC = "OnInventoryDeductFailed"
OUTCOME_TOPIC = {"SUCCEEDED": DEDUCTED_TOPIC, "FAILED": FAILED_TOPIC}

DEFAULT_LADDER = (200, 400, 600, 800, 1000, 1100, 1200, 1300, 1400, 1600, 2000, 2500, 3000)
LINES_PER_ORDER = 3
P99_LIMIT_MS = 250.0
MIN_ACHIEVED_FRACTION = 0.97
RUN_ID_SPACING = 10_000_000  # order ids per run; runs never share an id
CDF_POINTS = (0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100)


# --------------------------------------------------------------------------------------------
# Pure parts (unit-tested in tests/unit/test_bench_full_path.py)
# --------------------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of values sorted ascending; None when empty."""
    if not sorted_values:
        return None
    if q <= 0:
        return sorted_values[0]
    rank = math.ceil(q * len(sorted_values) / 100 - 1e-9)
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def latency_summary(latencies_ms: Iterable[float]) -> dict[str, float | None]:
    """count, p50, p95, p99, p99.9, max and mean of latencies in milliseconds."""
    values = sorted(latencies_ms)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "count": len(values),
        "p50": rounded(percentile(values, 50)),
        "p95": rounded(percentile(values, 95)),
        "p99": rounded(percentile(values, 99)),
        "p999": rounded(percentile(values, 99.9)),
        "max": rounded(values[-1] if values else None),
        "mean": rounded(sum(values) / len(values) if values else None),
    }


def latency_cdf(latencies_ms: Iterable[float]) -> list[tuple[float, float | None]]:
    """(percentile, ms) at CDF_POINTS: the latency distribution, small enough for JSON."""
    values = sorted(latencies_ms)
    return [(q, None if not values else round(percentile(values, q) or 0.0, 2)) for q in CDF_POINTS]


def scheduled_count(elapsed: float, rate: float) -> int:
    """Orders due `elapsed` seconds after the start at `rate`/s: order k is due at k / rate."""
    if elapsed < 0:
        return 0
    return math.floor(elapsed * rate + 1e-9) + 1


def per_second(times: Iterable[float], start: float, length: int | None = None) -> list[int]:
    """Counts per whole second since `start` (times before it are left out)."""
    counts: dict[int, int] = defaultdict(int)
    for t in times:
        if t >= start:
            counts[int(t - start)] += 1
    size = length if length is not None else (max(counts) + 1 if counts else 0)
    return [counts.get(second, 0) for second in range(size)]


def keeps_up(target: float, achieved: float, complete_in_drain: bool) -> tuple[bool, list[str]]:
    """The throughput verdict: the service kept pace with the target rate (latency aside)."""
    sustained, reasons = judge(target, achieved, 0.0, complete_in_drain)
    return sustained, reasons


def judge(
    target: float,
    achieved: float,
    p99_ms: float | None,
    complete_in_drain: bool,
    p99_limit_ms: float = P99_LIMIT_MS,
    min_fraction: float = MIN_ACHIEVED_FRACTION,
) -> tuple[bool, list[str]]:
    """Is a run sustained? Every order's outcome within the drain period, at least 97% of the
    target rate achieved, p99 within the limit. Returns the verdict and what failed."""
    reasons: list[str] = []
    if not complete_in_drain:
        reasons.append("not every order had its outcome within the drain period")
    if achieved < min_fraction * target:
        reasons.append(
            f"achieved {achieved:.1f}/s is below {min_fraction:.0%} of the target {target:g}/s"
        )
    if p99_ms is None:
        reasons.append("no latency measured")
    elif p99_ms > p99_limit_ms:
        reasons.append(f"p99 {p99_ms:.1f} ms is above {p99_limit_ms:g} ms")
    return not reasons, reasons


class RateSearch:
    """The steady search: probe up the ladder (short runs) until the first failure, then
    confirm the highest passing rate with a full-length run, stepping down while that fails.

    When even the first rung fails, probing continues below it at 3/4, 1/2, 1/4 and 1/8 of it. A
    confirmation that fails steps down one rung at a time (probed or not) until one passes or
    the rungs run out (no sustained rate: `best` stays None).
    """

    def __init__(self, ladder: Sequence[float]) -> None:
        rungs = sorted({float(r) for r in ladder if r > 0})
        if not rungs:
            raise ValueError("the rate ladder needs at least one positive rate")
        below = sorted({float(round(rungs[0] * f)) for f in (0.125, 0.25, 0.5, 0.75)} - {0.0})
        self.rungs = [r for r in below if r < rungs[0]] + rungs
        self.index = len(self.rungs) - len(rungs)
        self.phase = "probe"
        self.passed: list[float] = []
        self.failed: list[float] = []
        self.confirm_failed: list[float] = []
        self.best: float | None = None

    def next(self) -> tuple[str, float] | None:
        """("probe" | "confirm", rate) to run next, or None when the search is over."""
        if self.phase == "done":
            return None
        return self.phase, self.rungs[self.index]

    def record(self, passed: bool) -> None:
        """The verdict of the run that next() asked for."""
        step = self.next()
        if step is None:
            raise RuntimeError("the search is over")
        phase, rate = step
        if phase == "probe":
            self._probed(rate, passed)
        elif passed:
            self.best = rate
            self.phase = "done"
        else:
            self.confirm_failed.append(rate)
            self._step_down()

    def _probed(self, rate: float, passed: bool) -> None:
        if passed:
            self.passed.append(rate)
            up = self.index + 1
            if up >= len(self.rungs) or self.rungs[up] in self.failed:
                self.phase = "confirm"
            else:
                self.index = up
            return
        self.failed.append(rate)
        if self.passed:
            self.phase = "confirm"
            self.index = self.rungs.index(max(self.passed))
        else:
            self._step_down()

    def _step_down(self) -> None:
        if self.index == 0:
            self.phase = "done"
        else:
            self.index -= 1


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


@dataclass
class Correctness:
    orders: int
    succeeded: int = 0
    failed: int = 0
    inbox_missing: int = 0
    inbox_multiple: int = 0
    events_missing: int = 0
    event_ids_multiple: int = 0
    topic_mismatch: int = 0
    ledger_wrong: int = 0
    event_copies: int = 0  # the same event id read more than once: allowed (at least once)
    negative_stock: int = 0
    ledger_mismatches: int = 0
    unpublished: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_correctness(
    orders: Mapping[int, Sequence[tuple[int, int]]],
    inbox: Mapping[int, Sequence[str]],
    events: Mapping[int, Mapping[str, str]],
    ledger: Mapping[int, Sequence[tuple[int, int]]],
    negative_stock: Sequence[int] = (),
    mismatches: Mapping[int, tuple[int, int]] | None = None,
    unpublished: int = 0,
    copies: int = 0,
    examples: int = 3,
) -> Correctness:
    """Every order of a run: exactly one recorded deduct outcome (inbox), exactly one outcome
    event id on Kafka, on the topic of that outcome, and ledger rows equal to its lines (none
    when refused); no negative stock, stock = ledger sum for every SKU, no unpublished outbox
    row.

    orders: order id -> (SKU id, quantity) lines; inbox: order id -> DEDUCT outcomes;
    events: order id -> {event id: contract topic}; ledger: order id -> (SKU id, delta) rows.
    """
    result = Correctness(orders=len(orders), event_copies=copies)
    found: dict[str, list[int]] = defaultdict(list)
    for order_id, lines in orders.items():
        recorded = list(inbox.get(order_id, ()))
        seen = dict(events.get(order_id, {}))
        if not recorded:
            found["inbox_missing"].append(order_id)
        elif len(recorded) > 1:
            found["inbox_multiple"].append(order_id)
        if not seen:
            found["events_missing"].append(order_id)
        elif len(seen) > 1:
            found["event_ids_multiple"].append(order_id)
        if len(recorded) == 1:
            outcome = recorded[0]
            result.succeeded += outcome == "SUCCEEDED"
            result.failed += outcome == "FAILED"
            if len(seen) == 1 and OUTCOME_TOPIC.get(outcome) != next(iter(seen.values())):
                found["topic_mismatch"].append(order_id)
            merged: dict[int, int] = defaultdict(int)
            for sku, quantity in lines:
                merged[sku] += quantity
            expected = sorted((s, -q) for s, q in merged.items()) if outcome == "SUCCEEDED" else []
            if sorted(ledger.get(order_id, ())) != expected:
                found["ledger_wrong"].append(order_id)
    what = {
        "inbox_missing": "orders without a recorded deduct outcome",
        "inbox_multiple": "orders with more than one recorded deduct outcome",
        "events_missing": "orders without an outcome event on Kafka",
        "event_ids_multiple": "orders with more than one outcome event id on Kafka",
        "topic_mismatch": "orders whose outcome event is on the wrong topic",
        "ledger_wrong": "orders whose ledger rows differ from their lines",
    }
    for key, text_ in what.items():
        ids = found.get(key, [])
        setattr(result, key, len(ids))
        if ids:
            result.problems.append(f"{len(ids)} {text_}, e.g. {sorted(ids)[:examples]}")
    result.negative_stock = len(negative_stock)
    if negative_stock:
        result.problems.append(
            f"{len(negative_stock)} SKUs with negative stock, "
            f"e.g. {list(negative_stock)[:examples]}"
        )
    mismatches = mismatches or {}
    result.ledger_mismatches = len(mismatches)
    if mismatches:
        sample = dict(sorted(mismatches.items())[:examples])
        result.problems.append(
            f"{len(mismatches)} SKUs whose stock differs from their ledger sum "
            f"(sku: (stock, ledger)), e.g. {sample}"
        )
    result.unpublished = unpublished
    if unpublished:
        result.problems.append(f"{unpublished} outbox rows unpublished after the drain")
    return result


@dataclass
class RunResult:
    name: str
    scenario: str
    target_rate: float
    seconds: float
    orders: int
    first_order_id: int
    hot_sku: int | None
    started_at: float  # seconds since the stack was up
    produced_per_s: float = 0.0
    achieved_per_s: float = 0.0
    outcomes_in_window: int = 0
    outcomes_received: int = 0
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    latency_cdf_ms: list[tuple[float, float | None]] = field(default_factory=list)
    complete_in_drain: bool = False
    drain_seconds: float | None = None  # window end -> last outcome
    sustained: bool = False
    verdict: list[str] = field(default_factory=list)
    cpu_seconds: dict[str, float | None] = field(default_factory=dict)
    cpu_s_per_1000: dict[str, float | None] = field(default_factory=dict)
    machine_busy_pct: float | None = None  # the whole machine, all cores, over the window
    other_cpu_seconds: float | None = None  # machine CPU not used by the measured processes
    peak_rss_mb: dict[str, float | None] = field(default_factory=dict)
    inflight_peak: int = 0
    outbox_peak: int | None = None
    outbox_series: list[tuple[float, int | None, float | None]] = field(default_factory=list)
    produced_series: list[int] = field(default_factory=list)
    outcome_series: list[int] = field(default_factory=list)
    produce_errors: int = 0
    disturbed: bool = False  # a measured process was restarted (by someone else) meanwhile
    notes: list[str] = field(default_factory=list)
    correctness: dict[str, Any] = field(default_factory=dict)
    correct: bool = False
    latencies: list[float] = field(default_factory=list, repr=False)  # not written to JSON

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["latencies"]
        return data


TABLE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("run", 24),
    ("target/s", 8),
    ("prod/s", 7),
    ("achv/s", 7),
    ("p50", 7),
    ("p95", 7),
    ("p99", 7),
    ("max ms", 8),
    ("app s/1k", 8),
    ("daprd", 6),
    ("kafka", 6),
    ("mariadb", 7),
    ("RSS MB", 6),
    ("lag pk", 6),
    ("outbox", 6),
    ("drain s", 7),
    ("busy%", 5),
    ("sust", 4),
    ("correct", 7),
)


def _cell(value: float | int | str | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table_row(run: RunResult) -> list[str]:
    lat, cpu = run.latency_ms, run.cpu_s_per_1000
    return [
        run.name,
        _cell(run.target_rate, 0),
        _cell(run.produced_per_s),
        _cell(run.achieved_per_s),
        _cell(lat.get("p50")),
        _cell(lat.get("p95")),
        _cell(lat.get("p99")),
        _cell(lat.get("max")),
        _cell(cpu.get("app"), 2),
        _cell(cpu.get("daprd"), 2),
        _cell(cpu.get("kafka"), 2),
        _cell(cpu.get("mariadb"), 2),
        _cell(run.peak_rss_mb.get("app"), 0),
        _cell(run.inflight_peak),
        _cell(run.outbox_peak),
        _cell(run.drain_seconds),
        _cell(run.machine_busy_pct, 0),
        "yes" if run.sustained else "no",
        "yes" if run.correct else "NO",
    ]


def format_table(runs: Sequence[RunResult]) -> str:
    """One row per run; CPU columns are CPU seconds per 1,000 orders."""
    rows = [[name for name, _ in TABLE_COLUMNS], *(table_row(r) for r in runs)]
    widths = [max(w, *(len(row[i]) for row in rows)) for i, (_, w) in enumerate(TABLE_COLUMNS)]
    lines = []
    for row in rows:
        first = row[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join([first, *rest]))
    return "\n".join(lines)


def parse_app_env(items: Sequence[str]) -> dict[str, str]:
    """--app-env KEY=VALUE items as a mapping."""
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not key.replace("_", "").isalnum():
            raise ValueError(f"--app-env wants KEY=VALUE, not {item!r}")
        env[key] = value
    return env


def parse_ladder(text_: str) -> list[float]:
    rates = [float(part) for part in text_.split(",") if part.strip()]
    if not rates or any(r <= 0 for r in rates):
        raise ValueError(f"a ladder is a comma list of positive rates, not {text_!r}")
    return rates


# --------------------------------------------------------------------------------------------
# The live parts: stack, producer, consumer, processes
# --------------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


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
                "fetch.wait.max.ms": 50,
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


class PaymentProducer:
    """Writes OnPaymentSuccess records as a Dapr publisher does: CloudEvent envelope, record key
    and partitionKey header = order id, the partition daprd's hash would pick."""

    def __init__(self, brokers: str, topic: str) -> None:
        from confluent_kafka import Producer

        self.topic = topic
        self._producer = Producer(
            {
                "bootstrap.servers": brokers,
                "enable.idempotence": True,
                "linger.ms": 5,
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


def listener_pid(port: int) -> int | None:
    """The pid listening on 127.0.0.1:port (needs the right to see other processes' sockets)."""
    import psutil

    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid:
                    return int(conn.pid)
    except psutil.Error:
        pass
    return None


def infra_pid(name: str) -> int | None:
    pid = listener_pid(INFRA_PORTS[name])
    if pid is not None:
        return pid
    state = Path(os.environ.get("INFRA_STATE", ROOT / ".local" / "infra"))
    try:
        return int((state / INFRA_PID_FILES[name]).read_text().strip())
    except (OSError, ValueError):
        return None


class Processes:
    """CPU seconds (user + system, with child processes) and RSS of the measured processes."""

    def __init__(self, pids: Mapping[str, int | None]) -> None:
        import psutil

        self._psutil = psutil
        self.pids = dict(pids)
        self.procs: dict[str, Any] = {}
        for name, pid in pids.items():
            try:
                self.procs[name] = psutil.Process(pid) if pid else None
            except psutil.Error:
                self.procs[name] = None

    def _family(self, name: str) -> list[Any]:
        """The process, and for the app its children (the bench's own children are the app
        and daprd, measured on their own)."""
        proc = self.procs.get(name)
        if proc is None:
            return []
        if name != "app":
            return [proc]
        try:
            return [proc, *proc.children(recursive=True)]
        except self._psutil.Error:
            return [proc]

    def cpu(self) -> dict[str, float | None]:
        totals: dict[str, float | None] = {}
        for name in self.procs:
            family = self._family(name)
            total: float | None = None
            for proc in family:
                try:
                    times = proc.cpu_times()
                except self._psutil.Error:
                    continue
                total = (total or 0.0) + times.user + times.system
            totals[name] = total
        return totals

    def rss(self, name: str) -> int | None:
        total: int | None = None
        for proc in self._family(name):
            try:
                total = (total or 0) + int(proc.memory_info().rss)
            except self._psutil.Error:
                continue
        return total

    def machine(self) -> tuple[float, float]:
        """(busy, total) CPU seconds of the whole machine since boot."""
        times = self._psutil.cpu_times()
        total = float(sum(times))
        idle = times.idle + getattr(times, "iowait", 0.0)
        return total - idle, total


class Monitor:
    """Background sampling: RSS of the app and its daprd every 0.5 s, the app's GET /outbox
    every 1 s (each in its own thread, so a slow app does not slow the sampling or the load)."""

    def __init__(self, processes: Processes, http_port: int) -> None:
        self.processes = processes
        self.url = f"http://{HOST}:{http_port}/outbox"
        self.rss: list[tuple[float, int | None, int | None]] = []
        self.outbox: list[tuple[float, int | None, float | None]] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._sample_rss, name="rss", daemon=True),
            threading.Thread(target=self._poll_outbox, name="outbox", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _sample_rss(self) -> None:
        while not self._stop.wait(0.5):
            now = time.monotonic()
            self.rss.append((now, self.processes.rss("app"), self.processes.rss("daprd")))

    def _poll_outbox(self) -> None:
        import httpx

        with httpx.Client(timeout=5) as client:
            while not self._stop.wait(1.0):
                backlog: int | None = None
                age: float | None = None
                try:
                    response = client.get(self.url)
                    if response.status_code == 200:
                        body = response.json()
                        backlog = int(body["backlog"])
                        age = body.get("oldest_age_seconds")
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                self.outbox.append((time.monotonic(), backlog, age))

    def latest_backlog(self) -> int | None:
        return self.outbox[-1][1] if self.outbox else None

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=6)


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


class Bench:
    def __init__(self, args: argparse.Namespace, stack: Stack, product: App) -> None:
        self.args = args
        self.stack = stack
        self.product = product
        self.rng = random.Random(args.seed)
        self.id_base = (int(time.time()) % 10**6) * 10**9  # below 2**53, unique per invocation
        self.run_count = 0
        self.catalog: list[tuple[int, int]] = []
        self.engine: Engine | None = None
        self.inventory: InventoryService | None = None
        self.reader: OutcomeReader | None = None
        self.producer: PaymentProducer | None = None
        self.monitor: Monitor | None = None
        self.processes: Processes | None = None
        self.up_at = time.monotonic()

    # -- setup ---------------------------------------------------------------------------

    def seed(self) -> None:
        from decimal import Decimal

        from product_service.bootstrap import Adapters, build_runtime
        from product_service.domain.commands import CreateProduct, NewSku
        from product_service.infrastructure.db.engine import build_engine
        from product_service.infrastructure.settings import Settings

        self.engine = build_engine(DATABASE_URL, pool_size=4)
        settings = Settings(database_url=DATABASE_URL, lock_store_name="")  # seeding only
        self.inventory = build_runtime(settings, Adapters(engine=self.engine)).inventory
        skus, stock = self.args.skus, self.args.stock
        for start in range(0, skus, 100):
            batch = tuple(
                NewSku(f"BENCH-{i:05d}", Decimal("1.00"), stock, 10)
                for i in range(start, min(start + 100, skus))
            )
            product = self.inventory.create_product(CreateProduct(f"bench {start}", batch))
            self.catalog += [(sku.product_id, sku.id) for sku in product.skus]

    def connect(self) -> None:
        wire = self.stack.topics.wire
        brokers = self.stack.kafka_brokers
        self.reader = OutcomeReader(
            brokers, {wire(DEDUCTED_TOPIC): DEDUCTED_TOPIC, wire(FAILED_TOPIC): FAILED_TOPIC}
        )
        self.producer = PaymentProducer(brokers, wire(PAYMENT_TOPIC))
        self.processes = self.find_processes()
        missing = [name for name, pid in self.processes.pids.items() if pid is None]
        if missing:
            say(f"WARNING: no pid found for {missing}; their CPU is not measured")
        assert self.product.http_port is not None
        self.monitor = Monitor(self.processes, self.product.http_port)
        self.up_at = time.monotonic()

    def find_processes(self) -> Processes:
        """The measured processes now (the shared infrastructure may have been restarted)."""
        return Processes(
            {
                "app": self.product.pid,
                "daprd": self.product.sidecar.pid,
                **{name: infra_pid(name) for name in INFRA_PORTS},
                "bench": os.getpid(),
            }
        )

    def close(self) -> None:
        for part in (self.monitor, self.reader):
            if part is not None:
                part.close()
        if self.producer is not None:
            self.producer.flush(10)
        if self.engine is not None:
            self.engine.dispose()

    # -- one run -------------------------------------------------------------------------

    def measure(
        self,
        runs: list[RunResult],
        name: str,
        scenario: str,
        rate: float,
        seconds: float,
        hot: bool = False,
    ) -> RunResult:
        """run(), added to `runs`; once more when a measured process (the shared Kafka, MariaDB
        or Redis) was restarted meanwhile, as other test suites on the machine do."""
        result = self.run(name, scenario, rate, seconds, hot)
        runs.append(result)
        if result.disturbed:
            say(f"{name}: {'; '.join(result.notes)}; running it again")
            result = self.run(f"{name} again", scenario, rate, seconds, hot)
            runs.append(result)
        return result

    def run(
        self,
        name: str,
        scenario: str,
        rate: float,
        seconds: float,
        hot: bool = False,
        quiet: bool = False,
    ) -> RunResult:
        reader, producer, monitor = self.reader, self.producer, self.monitor
        assert reader and producer and monitor
        dead = self.product.exit_reason() or self.product.sidecar.exit_reason()
        if dead is not None:
            raise RuntimeError(f"{dead}; logs in {self.stack.run_dir}")
        processes = self.processes = self.find_processes()
        first_id = self.id_base + self.run_count * RUN_ID_SPACING + 1
        self.run_count += 1
        count = max(1, round(rate * seconds))
        hot_sku = self.catalog[0] if hot else None
        orders = make_orders(self.rng, self.catalog, first_id, count, hot_sku)
        log = (lambda _m: None) if quiet else say
        log(
            f"{name}: {rate:g} orders/s for {seconds:g} s ({count} orders"
            + (f", half with hot SKU {hot_sku[1]})" if hot_sku else ")")
        )
        produce_times = [0.0] * count
        tracker = Tracker(first_id, produce_times, reader, cursor=len(reader.arrivals))
        inflight_peak = 0
        cpu0, machine0 = processes.cpu(), processes.machine()
        errors0 = producer.errors
        t0 = time.monotonic()
        window_end = t0 + seconds
        next_tick = t0 + 1
        sent = 0

        def tick(now: float, phase: str) -> None:
            nonlocal inflight_peak, next_tick
            tracker.update()
            inflight = sent - tracker.received
            inflight_peak = max(inflight_peak, inflight)
            if now >= next_tick:
                next_tick = t0 + math.floor(now - t0) + 1  # one line a second, even after a stall
                p99 = tracker.recent_p99()
                log(
                    f"  {phase:7} t={now - t0:5.0f}s produced {sent:7d} received "
                    f"{tracker.received:7d} in flight {inflight:6d} outbox "
                    f"{_cell(monitor.latest_backlog()):>5} p99(5s) {_cell(p99, 0):>5} ms"
                )

        while sent < count:
            now = time.monotonic()
            due = min(count, scheduled_count(now - t0, rate))
            while sent < due:
                produce_times[sent] = producer.send(orders[sent])
                sent += 1
                if sent % 200 == 0:
                    producer.poll()
            producer.poll()
            tick(now, "load")
            if sent < count:
                wait = t0 + sent / rate - time.monotonic()
                if wait > 0:
                    time.sleep(min(wait, 0.05))
        while (now := time.monotonic()) < window_end:
            producer.poll()
            tick(now, "load")
            time.sleep(min(0.02, max(window_end - now, 0)))
        cpu1, machine1 = processes.cpu(), processes.machine()
        unflushed = producer.flush(30)
        # The drain period: a sustained run has every outcome by its end.
        drain_end = window_end + self.args.drain_seconds
        while tracker.received < count and (now := time.monotonic()) < drain_end:
            tick(now, "drain")
            time.sleep(0.05)
        # Then wait for the rest (needed for the checks) while outcomes keep coming.
        last_progress, last_received = time.monotonic(), tracker.received
        while tracker.received < count:
            now = time.monotonic()
            tick(now, "settle")
            if tracker.received != last_received:
                last_progress, last_received = now, tracker.received
            elif now - last_progress > self.args.settle_timeout:
                log(f"  no outcome for {self.args.settle_timeout:g} s; checking what arrived")
                break
            time.sleep(0.1)
        tracker.update()
        self._wait_outbox_empty(log)
        settled = time.monotonic()
        now_pids = self.find_processes().pids
        restarted = [
            f"{name} (pid {processes.pids.get(name)} -> {now_pids.get(name)})"
            for name in PROCESSES
            if now_pids.get(name) != processes.pids.get(name)
        ]

        result = RunResult(
            name=name,
            scenario=scenario,
            target_rate=rate,
            seconds=seconds,
            orders=count,
            first_order_id=first_id,
            hot_sku=hot_sku[1] if hot_sku else None,
            started_at=round(t0 - self.up_at, 3),
        )
        receipts = tracker.receipts
        got = [r for r in receipts if r is not None]
        result.latencies = [
            (r - p) * 1000 for r, p in zip(receipts, produce_times, strict=True) if r is not None
        ]
        result.latency_ms = latency_summary(result.latencies)
        result.latency_cdf_ms = latency_cdf(result.latencies)
        result.outcomes_received = len(got)
        result.outcomes_in_window = sum(1 for r in got if r <= window_end)
        result.produced_per_s = round(sum(1 for p in produce_times if p <= window_end) / seconds, 1)
        result.achieved_per_s = round(result.outcomes_in_window / seconds, 1)
        result.complete_in_drain = len(got) == count and max(got) <= drain_end
        result.drain_seconds = (
            round(max(max(got) - window_end, 0.0), 2) if len(got) == count else None
        )
        result.sustained, result.verdict = judge(
            rate, result.achieved_per_s, result.latency_ms["p99"], result.complete_in_drain
        )
        result.produce_errors = producer.errors - errors0 + unflushed
        result.produced_series = per_second(produce_times, t0)
        result.outcome_series = per_second(got, t0)
        result.inflight_peak = inflight_peak
        # Resources over the window.
        for proc in PROCESSES:
            before, after = cpu0.get(proc), cpu1.get(proc)
            spent = round(after - before, 3) if before is not None and after is not None else None
            result.cpu_seconds[proc] = spent
            result.cpu_s_per_1000[proc] = (
                round(spent * 1000 / result.outcomes_in_window, 3)
                if spent is not None and result.outcomes_in_window
                else None
            )
        busy = machine1[0] - machine0[0]
        total = machine1[1] - machine0[1]
        result.machine_busy_pct = round(100 * busy / total, 1) if total > 0 else None
        ours = sum(v for v in result.cpu_seconds.values() if v is not None)
        result.other_cpu_seconds = round(busy - ours, 2)
        if restarted:
            result.disturbed = True
            result.notes.append("restarted during the run: " + ", ".join(restarted))
        window_rss = [s for s in monitor.rss if t0 <= s[0] <= settled]
        app_rss = [a for _, a, _ in window_rss if a is not None]
        daprd_rss = [d for _, _, d in window_rss if d is not None]
        for proc, values in (("app", app_rss), ("daprd", daprd_rss)):
            result.peak_rss_mb[proc] = round(max(values) / 2**20, 1) if values else None
        series = [s for s in monitor.outbox if t0 <= s[0] <= settled]
        result.outbox_series = [(round(t - t0, 1), b, a) for t, b, a in series]
        backlogs = [b for _, b, _ in series if b is not None]
        result.outbox_peak = max(backlogs) if backlogs else None
        checked = self.check(orders, reader)
        result.correctness = asdict(checked)
        result.correct = checked.ok
        if result.produce_errors:
            result.correct = False
            result.correctness["problems"].append(f"{result.produce_errors} orders not produced")
        lat = result.latency_ms
        log(
            f"{name}: produced {result.produced_per_s}/s, achieved {result.achieved_per_s}/s, "
            f"p50 {_cell(lat['p50'])} p95 {_cell(lat['p95'])} p99 {_cell(lat['p99'])} "
            f"max {_cell(lat['max'])} ms; "
            + ("sustained" if result.sustained else "not sustained: " + "; ".join(result.verdict))
            + (
                "; correct"
                if result.correct
                else "; INCORRECT: " + "; ".join(result.correctness["problems"])
            )
        )
        time.sleep(self.args.gap_seconds)
        return result

    def _wait_outbox_empty(self, log: Callable[[str], None], timeout: float = 60) -> None:
        assert self.monitor is not None
        deadline = time.monotonic() + timeout
        seen = len(self.monitor.outbox)
        while time.monotonic() < deadline:
            fresh = self.monitor.outbox[seen:]
            if fresh and fresh[-1][1] == 0:
                return
            time.sleep(0.2)
        log(f"  the outbox did not report an empty backlog within {timeout:g} s")

    def check(self, orders: Sequence[Order], reader: OutcomeReader) -> Correctness:
        from sqlalchemy import text

        assert self.engine is not None and self.inventory is not None
        first, last = orders[0].order_id, orders[-1].order_id
        bounds = {"first": first, "last": last}
        inbox: dict[int, list[str]] = defaultdict(list)
        ledger: dict[int, list[tuple[int, int]]] = defaultdict(list)
        with self.engine.connect() as c:
            for order_id, outcome in c.execute(
                text(
                    "SELECT order_id, outcome FROM inbox WHERE operation = 'DEDUCT' "
                    "AND order_id BETWEEN :first AND :last"
                ),
                bounds,
            ):
                inbox[int(order_id)].append(str(outcome))
            for order_id, sku_id, delta in c.execute(
                text(
                    "SELECT order_id, sku_id, delta FROM stock_ledger "
                    "WHERE order_id BETWEEN :first AND :last"
                ),
                bounds,
            ):
                ledger[int(order_id)].append((int(sku_id), int(delta)))
            negative = [int(r[0]) for r in c.execute(text("SELECT id FROM skus WHERE stock < 0"))]
            unpublished = int(
                c.execute(text("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")).scalar()
                or 0
            )
        events, copies = reader.snapshot(o.order_id for o in orders)
        return check_correctness(
            {o.order_id: [(s, q) for _, s, q in o.lines] for o in orders},
            inbox,
            events,
            ledger,
            negative_stock=negative,
            mismatches=self.inventory.ledger_mismatches(),
            unpublished=unpublished,
            copies=copies,
        )


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/full_path.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--trace-sampling",
        type=float,
        default=0.01,
        help="fraction of traces the sidecar and the app record, as a production setting would"
        " have it (the full profile records all: 1)",
    )
    parser.add_argument(
        "--scenario",
        choices=("steady", "burst", "hot", "rates", "all"),
        default="all",
        help="rates: one --duration run at each --ladder rate, no search (to compare settings)",
    )
    parser.add_argument("--quick", action="store_true", help="10 s probes, 20 s runs")
    parser.add_argument("--probe-seconds", type=float, help="length of a probe (default 15)")
    parser.add_argument("--duration", type=float, help="length of a full run (default 60)")
    parser.add_argument(
        "--ladder",
        default=",".join(str(r) for r in DEFAULT_LADDER),
        help="rates the steady search probes, ascending (default %(default)s)",
    )
    parser.add_argument(
        "--baseline-rate",
        type=float,
        default=500,
        help="the steady run always made at this rate for --duration (0: none; default 500)",
    )
    parser.add_argument(
        "--throughput-rate",
        type=float,
        default=1000,
        help="a --duration run at this rate judged on keeping pace alone: at least 97%% of it"
        " came back during the run and the rest within the drain (0: none; default 1000)",
    )
    parser.add_argument(
        "--rate", type=float, help="rate for hot (burst: twice it) instead of the steady best"
    )
    parser.add_argument("--burst-seconds", type=float, default=10)
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=10,
        help="after the window, a sustained run has every outcome within this (default 10)",
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=120,
        help="stop waiting for outcomes after this many seconds without one (default 120)",
    )
    parser.add_argument("--gap-seconds", type=float, default=3, help="pause between runs")
    parser.add_argument(
        "--partitions",
        type=int,
        default=1,
        help="partitions of the topics (1: one service replica batches best; see README)",
    )
    parser.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment variable for the product service (repeatable)",
    )
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--stock", type=int, default=10_000_000, help="initial stock per SKU")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the orders")
    parser.add_argument(
        "--db-orders", type=int, help="orders per db_deduct run (default 2000, quick 500)"
    )
    parser.add_argument("--db-threads", default="1,8", help="db_deduct thread counts")
    parser.add_argument(
        "--db-batches",
        default="1,100",
        help="db_deduct orders per transaction: 1 (each alone) and a bulk delivery's size",
    )
    parser.add_argument("--no-db-ceiling", action="store_true", help="skip bench/db_deduct.py")
    parser.add_argument("--daprd-log-level", default="info")
    args = parser.parse_args(argv)
    if args.probe_seconds is None:
        args.probe_seconds = 10.0 if args.quick else 15.0
    if args.duration is None:
        args.duration = 20.0 if args.quick else 60.0
    if args.db_orders is None:
        args.db_orders = 500 if args.quick else 2000
    try:
        args.ladder_rates = parse_ladder(args.ladder)
        args.app_env_map = parse_app_env(args.app_env)
    except ValueError as exc:
        parser.error(str(exc))
    if args.scenario in ("burst", "hot") and args.rate is None:
        parser.error(f"--scenario {args.scenario} without steady needs --rate")
    if args.skus < LINES_PER_ORDER + 1:
        parser.error("--skus must be at least 4")
    return args


def db_ceiling(args: argparse.Namespace, stamp: str) -> dict[str, Any] | None:
    """bench/db_deduct.py on MariaDB (it drops and migrates product_bench, so it runs before
    the stack): the best orders/s over its thread counts."""
    output = RESULTS_DIR / f"db_deduct-{stamp}.json"
    command = [
        sys.executable,
        str(ROOT / "bench" / "db_deduct.py"),
        "--databases",
        "mariadb",
        "--threads",
        args.db_threads,
        "--orders",
        str(args.db_orders),
        "--batches",
        args.db_batches,
        "--output",
        str(output),
    ]
    say(
        f"db-only ceiling: bench/db_deduct.py, MariaDB, threads {args.db_threads}, "
        f"orders per transaction {args.db_batches}, {args.db_orders} orders each"
    )
    done = subprocess.run(command, stdout=subprocess.DEVNULL, cwd=ROOT, check=False)
    if done.returncode != 0 or not output.exists():
        say(f"WARNING: bench/db_deduct.py exited {done.returncode}; no db-only ceiling")
        return None
    report = json.loads(output.read_text())
    results = report.get("results", [])
    best = max((float(r["orders_per_second"]) for r in results), default=None)
    say(f"db-only ceiling: {best} orders/s")
    return {
        "best_orders_per_second": best,
        "results": results,
        "file": str(output.relative_to(ROOT)),
    }


def fresh_database() -> None:
    """Drop every table of product_bench; devstack's `db upgrade` recreates them."""
    from sqlalchemy import text

    from product_service.infrastructure.db.engine import build_engine
    from product_service.infrastructure.db.tables import metadata

    engine = build_engine(DATABASE_URL, pool_size=1)
    try:
        with engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


def scenarios(args: argparse.Namespace, bench: Bench, report: dict[str, Any]) -> list[RunResult]:
    runs: list[RunResult] = []
    if args.scenario == "rates":
        for rate in args.ladder_rates:
            bench.measure(runs, f"rate {rate:g}", "rates", rate, args.duration)
        return runs
    wanted = {"steady", "burst", "hot"} if args.scenario == "all" else {args.scenario}
    best: float | None = None
    if "steady" in wanted:
        search = RateSearch(args.ladder_rates)
        while (step := search.next()) is not None:
            phase, rate = step
            seconds = args.probe_seconds if phase == "probe" else args.duration
            run = bench.measure(runs, f"steady {phase} {rate:g}", "steady", rate, seconds)
            search.record(run.sustained)
        best = search.best
        say(f"steady: best sustained rate {best if best is not None else 'none'} orders/s")
        report["steady"] = {
            "best_rate": best,
            "probed_passed": search.passed,
            "probed_failed": search.failed,
            "confirm_failed": search.confirm_failed,
            "p99_limit_ms": P99_LIMIT_MS,
            "min_achieved_fraction": MIN_ACHIEVED_FRACTION,
        }
        if args.baseline_rate > 0:
            confirmed = [
                r
                for r in runs
                if r.target_rate == args.baseline_rate and r.seconds == args.duration
            ]
            baseline = confirmed[-1] if confirmed else None
            if baseline is None:
                baseline = bench.measure(
                    runs,
                    f"steady {args.baseline_rate:g}",
                    "steady",
                    args.baseline_rate,
                    args.duration,
                )
            report["steady"]["baseline"] = {
                "rate": args.baseline_rate,
                "run": baseline.name,
                "p99_ms": baseline.latency_ms.get("p99"),
                "sustained": baseline.sustained,
            }
        if args.throughput_rate > 0:
            run = bench.measure(
                runs,
                f"throughput {args.throughput_rate:g}",
                "throughput",
                args.throughput_rate,
                args.duration,
            )
            kept_up, reasons = keeps_up(run.target_rate, run.achieved_per_s, run.complete_in_drain)
            report["steady"]["throughput"] = {
                "rate": args.throughput_rate,
                "run": run.name,
                "achieved_per_s": run.achieved_per_s,
                "p99_ms": run.latency_ms.get("p99"),
                "kept_up": kept_up,
                "verdict": reasons,
            }
            say(
                f"throughput {args.throughput_rate:g}/s for {args.duration:g} s: "
                + ("kept up" if kept_up else "did not keep up: " + "; ".join(reasons))
            )
    base = args.rate if args.rate is not None else best
    if base is None and wanted - {"steady"}:
        say("no sustained steady rate and no --rate: burst and hot are skipped")
        report["skipped"] = sorted(wanted - {"steady"})
        return runs
    if "burst" in wanted:
        assert base is not None
        run = bench.measure(runs, f"burst {2 * base:g}", "burst", 2 * base, args.burst_seconds)
        say(f"burst: backlog drained {_cell(run.drain_seconds)} s after the burst ended")
    if "hot" in wanted:
        assert base is not None
        bench.measure(runs, f"hot {base:g}", "hot", base, args.duration, hot=True)
    return runs


def plot(runs: Sequence[RunResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(13, 10))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, run in enumerate(runs):
        color = colors[n % len(colors)]
        x_out = [run.started_at + s for s in range(len(run.outcome_series))]
        x_prod = [run.started_at + s for s in range(len(run.produced_series))]
        top.plot(x_out, run.outcome_series, color=color, label=run.name)
        top.plot(x_prod, run.produced_series, color=color, linestyle="--", alpha=0.6)
        values = sorted(run.latencies)
        if values:
            share = [(i + 1) / len(values) for i in range(len(values))]
            bottom.plot(
                values, share, color=color, label=f"{run.name} (p99 {run.latency_ms['p99']} ms)"
            )
    top.set_title("throughput per second: outcomes received (solid), orders produced (dashed)")
    top.set_xlabel("seconds since the stack was up")
    top.set_ylabel("orders/s")
    top.grid(alpha=0.3)
    top.legend(fontsize="small", ncol=2)
    bottom.axvline(P99_LIMIT_MS, color="grey", linestyle=":", label=f"{P99_LIMIT_MS:g} ms")
    bottom.axhline(0.99, color="grey", linestyle=":")
    bottom.set_xscale("log")
    bottom.set_title("end-to-end latency (produce -> outcome received): cumulative distribution")
    bottom.set_xlabel("ms")
    bottom.set_ylabel("share of orders")
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize="small", ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_outputs(report: dict[str, Any], runs: Sequence[RunResult], stamp: str) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    report["runs"] = [r.to_json() for r in runs]
    text_ = json.dumps(report, indent=2) + "\n"
    out = RESULTS_DIR / f"full_path-{stamp}.json"
    out.write_text(text_)
    (RESULTS_DIR / "full_path-latest.json").write_text(text_)
    written = [out]
    if runs:
        png = RESULTS_DIR / f"full_path-{stamp}.png"
        try:
            plot(runs, png)
            written.append(png)
        except Exception as exc:  # a plot problem must not hide the numbers
            say(f"WARNING: no plot: {exc!r}")
    say("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from devstack import Stack

    signal.signal(signal.SIGTERM, _interrupt)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    down = [name for name in ("kafka", "mariadb", "redis") if not port_open(INFRA_PORTS[name])]
    if down:
        print(f"not listening: {down}; start the infrastructure with `scripts/infra up`")
        return 2
    token = uuid.uuid4().hex[:8]
    report: dict[str, Any] = {
        "benchmark": "full_path",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            key: value for key, value in vars(args).items() if key not in ("ladder", "app_env")
        },
        "database": DATABASE_URL.split("@")[-1],
        "topic_suffix": f"bench-{token}",
    }
    runs: list[RunResult] = []
    failure: str | None = None
    stack: Stack | None = None
    bench: Bench | None = None
    try:
        report["db_ceiling"] = None if args.no_db_ceiling else db_ceiling(args, stamp)
        fresh_database()
        say(
            f"stack: product service + daprd, full profile, {args.partitions} partitions, "
            f"trace sampling {args.trace_sampling:g}, "
            f"topics *.bench-{token}, app env {args.app_env_map or '{}'}"
        )
        stack = Stack(
            profile="full",
            run_dir=ROOT / ".local" / "bench" / f"full_path-{stamp}-{token}",
            database_url=DATABASE_URL,
            consumer_group=f"product-consumer-bench-{token}",
            topic_suffix=f"bench-{token}",
            log_level=args.daprd_log_level,
            partitions=args.partitions,
            trace_sampling=args.trace_sampling,
        )
        product = stack.start_product(env=args.app_env_map)
        say(
            f"stack up: app pid {product.pid} (HTTP {product.http_port}), daprd pid "
            f"{product.sidecar.pid}; logs in {stack.run_dir.relative_to(ROOT)}"
        )
        bench = Bench(args, stack, product)
        say(f"seeding {args.skus} SKUs with stock {args.stock} each")
        bench.seed()
        bench.connect()
        report["processes"] = bench.processes.pids if bench.processes else {}
        warmup = bench.run("warmup", "warmup", 50, 2, quiet=True)
        report["warmup"] = warmup.to_json()
        say(
            f"warm-up: {warmup.orders} orders, p50 {warmup.latency_ms['p50']} ms, "
            f"{'correct' if warmup.correct else 'INCORRECT'}"
        )
        if not warmup.correct or not warmup.outcomes_received:
            raise RuntimeError(f"warm-up failed: {warmup.correctness['problems']}")
        runs = scenarios(args, bench, report)
    except KeyboardInterrupt:
        failure = "interrupted"
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    finally:
        if bench is not None:
            bench.close()
        if stack is not None:
            codes = stack.close()
            say("stopped: " + ", ".join(f"{name} exit {code}" for name, code in codes.items()))
    best = (report.get("steady") or {}).get("best_rate")
    ceiling = (report.get("db_ceiling") or {}).get("best_orders_per_second")
    report["ratio_full_path_to_db"] = round(best / ceiling, 3) if best and ceiling else None
    report["failure"] = failure
    correct = (
        failure is None
        and all(r.correct for r in runs)
        and bool(report.get("warmup", {}).get("correct"))
    )
    report["correct"] = correct
    write_outputs(report, runs, stamp)
    print()
    print(format_table(runs))
    print()
    print(
        f"best sustained steady rate: {best if best is not None else '-'} orders/s; "
        f"db-only ceiling: {ceiling if ceiling is not None else '-'} orders/s; "
        f"ratio: {report['ratio_full_path_to_db'] if report['ratio_full_path_to_db'] else '-'}"
    )
    baseline = (report.get("steady") or {}).get("baseline")
    if baseline:
        print(f"p99 at {baseline['rate']:g} orders/s: {_cell(baseline['p99_ms'])} ms")
    throughput = (report.get("steady") or {}).get("throughput")
    if throughput:
        print(
            f"throughput at {throughput['rate']:g} orders/s: achieved "
            f"{throughput['achieved_per_s']:.1f}/s, p99 {_cell(throughput['p99_ms'])} ms, "
            + ("kept up" if throughput["kept_up"] else "did not keep up")
        )
    if failure:
        print(f"FAILED: {failure}")
    for run in runs:
        if not run.correct:
            print(f"INCORRECT {run.name}: {'; '.join(run.correctness.get('problems', []))}")
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
