"""One stack, many runs: seeds the catalog, connects the producer, reader and monitor to the
product service and its daprd, then loads, measures and checks one run at a time."""

from __future__ import annotations

import argparse
import math
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from bench.full_path.config import (
    DATABASE_URL,
    DEDUCTED_TOPIC,
    FAILED_TOPIC,
    INFRA_PORTS,
    PAYMENT_TOPIC,
    PROCESSES,
    RUN_ID_SPACING,
)
from bench.full_path.correctness import Correctness, check_correctness
from bench.full_path.load import (
    Order,
    OutcomeReader,
    PaymentProducer,
    Tracker,
    make_orders,
    scheduled_count,
)
from bench.full_path.metrics import RunResult, judge, latency_cdf, latency_summary, per_second
from bench.full_path.processes import Monitor, Processes, infra_pid
from bench.full_path.report import cell, say

# The processes of the stack whose idle CPU counts (Jaeger and the bench itself are not it).
IDLE_STACK = ("app", "daprd", "kafka", "mariadb", "redis")
# What RunResult.row_lock_waits holds, from SHOW GLOBAL STATUS.
ROW_LOCK_COUNTERS = {"waits": "Innodb_row_lock_waits", "time_ms": "Innodb_row_lock_time"}

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from devstack import App, Stack
    from product_service.application.service import InventoryService


class Bench:
    def __init__(
        self,
        args: argparse.Namespace,
        stack: Stack,
        replicas: Sequence[App],
        catalog: Sequence[tuple[int, int]] = (),
    ) -> None:
        self.args = args
        self.stack = stack
        self.replicas = list(replicas)
        self.product = self.replicas[0]  # its HTTP operator views answer for the database
        self.rng = random.Random(args.seed)
        self.id_base = (int(time.time()) % 10**6) * 10**9  # below 2**53, unique per invocation
        self.run_count = 0
        self.catalog: list[tuple[int, int]] = list(catalog)  # (product id, SKU id)
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
        if self.catalog:  # seeded for an earlier configuration: the same SKUs again
            return
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
        self.producer = PaymentProducer(brokers, wire(PAYMENT_TOPIC), self.args.linger_ms)
        self.processes = self.find_processes()
        missing = self.processes.missing()
        if missing:
            say(f"WARNING: no pid found for {missing}; their CPU is not measured")
        assert self.product.http_port is not None
        self.monitor = Monitor(
            self.processes, self.product.http_port, self.product.operator_headers()
        )
        self.up_at = time.monotonic()

    def find_processes(self) -> Processes:
        """The measured processes now (the shared infrastructure may have been restarted)."""
        return Processes(
            {
                "app": [app.pid for app in self.replicas if app.pid],
                "daprd": [app.sidecar.pid for app in self.replicas if app.sidecar.pid],
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

    # -- the stack at rest ----------------------------------------------------------------

    def idle(self, seconds: float) -> dict[str, object]:
        """CPU of each process, in % of one core, over `seconds` without orders. The monitor's
        outbox polling stops meanwhile: it would be the app's only work."""
        assert self.monitor is not None and self.product.http_port is not None
        self.monitor.close()
        processes = self.processes = self.find_processes()
        say(f"idle: {seconds:g} s without orders")
        cpu0, machine0, t0 = processes.cpu(), processes.machine(), time.monotonic()
        time.sleep(seconds)
        cpu1, machine1, spent = processes.cpu(), processes.machine(), time.monotonic() - t0
        self.monitor = Monitor(processes, self.product.http_port, self.product.operator_headers())
        pct = {proc: _core_pct(cpu0.get(proc), cpu1.get(proc), spent) for proc in PROCESSES}
        stack = [pct[name] for name in IDLE_STACK]
        total = round(sum(v for v in stack if v is not None), 2) if None not in stack else None
        busy, all_cpu = machine1[0] - machine0[0], machine1[1] - machine0[1]
        say(
            "idle: % of one core: "
            + ", ".join(f"{name} {cell(value)}" for name, value in pct.items())
            + f"; stack {cell(total)}"
        )
        return {
            "seconds": round(spent, 1),
            "pct": pct,
            "total_pct": total,
            "machine_busy_pct": round(100 * busy / all_cpu, 1) if all_cpu > 0 else None,
        }

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
        for app in self.replicas:
            dead = app.exit_reason() or app.sidecar.exit_reason()
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
        locks0 = self.row_locks()
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
                    f"{cell(monitor.latest_backlog()):>5} p99(5s) {cell(p99, 0):>5} ms"
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
        locks1 = self.row_locks()
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
            replicas=len(self.replicas),
            partitions=self.stack.partitions,
        )
        result.row_lock_waits = {key: locks1[key] - locks0[key] for key in ROW_LOCK_COUNTERS}
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
            f"p50 {cell(lat['p50'])} p95 {cell(lat['p95'])} p99 {cell(lat['p99'])} "
            f"max {cell(lat['max'])} ms; "
            + ("sustained" if result.sustained else "not sustained: " + "; ".join(result.verdict))
            + (
                "; correct"
                if result.correct
                else "; INCORRECT: " + "; ".join(result.correctness["problems"])
            )
        )
        time.sleep(self.args.gap_seconds)
        return result

    def row_locks(self) -> dict[str, int]:
        """MariaDB's row lock counters (waits, and milliseconds waited) since it started."""
        from sqlalchemy import text

        assert self.engine is not None
        with self.engine.connect() as c:
            rows = c.execute(text("SHOW GLOBAL STATUS LIKE 'Innodb_row_lock%'"))
            status = {str(name): int(value) for name, value in rows}
        return {key: status.get(variable, 0) for key, variable in ROW_LOCK_COUNTERS.items()}

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


def _core_pct(before: float | None, after: float | None, seconds: float) -> float | None:
    """CPU seconds spent between two readings as % of one core over `seconds`."""
    if before is None or after is None or seconds <= 0:
        return None
    return round(100 * (after - before) / seconds, 2)
