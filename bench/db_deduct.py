"""Database-only ceiling: deductions per second for 3-line orders over 1,000 SKUs.

Runs the deduct use case straight against the database (no Dapr, no network hop), on SQLite
and MariaDB, with 1 and 8 threads, and writes JSON. Later benchmarks compare against this.

    .venv/bin/python bench/db_deduct.py                      # both databases, 1 and 8 threads
    .venv/bin/python bench/db_deduct.py --databases sqlite --orders 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, text

from product_service.application.deduct_batch import (
    BatchAnswer,
    decide_one_by_one,
    decide_together,
)
from product_service.application.errors import TransientError
from product_service.application.results import OperationResult
from product_service.application.service import InventoryService
from product_service.bootstrap import Adapters, build_runtime
from product_service.domain.commands import CreateProduct, DeductInventory, NewSku, OrderLine
from product_service.domain.model import Outcome
from product_service.infrastructure.db import migrate
from product_service.infrastructure.db.engine import build_engine
from product_service.infrastructure.db.tables import metadata
from product_service.infrastructure.settings import Settings

SKUS, LINES_PER_ORDER, STOCK_PER_SKU = 1000, 3, 1_000_000
MAX_ATTEMPTS = 20
MARIADB_URL = os.environ.get(
    "PRODUCT_BENCH_MYSQL_URL", "mysql+pymysql://product:product@127.0.0.1:3306/product_bench"
)


def fresh_database(kind: str, threads: int) -> tuple[Engine, str]:
    if kind == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.db"
        engine = build_engine(url)
    else:
        url = MARIADB_URL
        engine = build_engine(url, pool_size=threads + 2)
        with engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate.upgrade(engine)
    return engine, url


def seed(inventory: InventoryService) -> list[int]:
    sku_ids: list[int] = []
    for start in range(0, SKUS, 100):
        skus = tuple(
            NewSku(f"BENCH-{i:05d}", Decimal("1.00"), STOCK_PER_SKU, 10)
            for i in range(start, start + 100)
        )
        sku_ids += [s.id for s in inventory.create_product(CreateProduct(f"P{start}", skus)).skus]
    return sku_ids


def make_orders(sku_ids: list[int], count: int, seed_: int) -> list[DeductInventory]:
    rng = random.Random(seed_)
    return [
        DeductInventory(
            order_id,
            tuple(OrderLine(s, rng.randint(1, 3)) for s in rng.sample(sku_ids, LINES_PER_ORDER)),
            message_id=f"bench-{order_id}",
        )
        for order_id in range(1, count + 1)
    ]


def run(
    kind: str, threads: int, orders: int, batch: int = 1, batch_path: str = "together"
) -> dict[str, object]:
    """`batch` 1 runs each order alone (one transaction each); more runs `batch` orders per
    transaction like a bulk delivery, decided together or one by one in savepoints."""
    engine, url = fresh_database(kind, threads)
    # The use cases alone: no lock store, and a relay that is never started (nothing published).
    settings = Settings(database_url=url, lock_store_name="")
    inventory = build_runtime(settings, Adapters(engine=engine)).inventory
    work = make_orders(seed(inventory), orders, seed_=threads)
    chunks = [work[i : i + batch] for i in range(0, len(work), batch)]
    latencies: list[float] = []
    retries = [0]

    def decide(chunk: list[DeductInventory]) -> list[Outcome]:
        if batch == 1:
            return [inventory.deduct(chunk[0]).outcome]
        decide_batch = decide_one_by_one if batch_path == "one-by-one" else decide_together
        decided: Mapping[int, BatchAnswer] = decide_batch(
            chunk, inventory.uow_factory(), inventory.clock
        )
        return [r.outcome for r in decided.values() if isinstance(r, OperationResult)]

    def deduct(chunk: list[DeductInventory]) -> list[Outcome]:
        for _attempt in range(MAX_ATTEMPTS):
            started = time.perf_counter()
            try:
                outcomes = decide(chunk)
                latencies.append(time.perf_counter() - started)
                return outcomes
            except TransientError:
                retries[0] += 1
        raise RuntimeError(f"orders from {chunk[0].order_id} failed {MAX_ATTEMPTS} times")

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        outcomes = [outcome for chunk in pool.map(deduct, chunks) for outcome in chunk]
    elapsed = time.perf_counter() - began
    mismatches = inventory.ledger_mismatches()
    engine.dispose()
    latencies.sort()
    return {
        "database": kind,
        "threads": threads,
        "orders": orders,
        "batch": batch,
        "batch_path": batch_path if batch > 1 else "single",
        "lines_per_order": LINES_PER_ORDER,
        "skus": SKUS,
        "seconds": round(elapsed, 3),
        "orders_per_second": round(orders / elapsed, 1),
        "lines_per_second": round(orders * LINES_PER_ORDER / elapsed, 1),
        # per transaction: one order, or one batch
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 2),
        "latency_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "succeeded": outcomes.count(Outcome.SUCCEEDED),
        "transient_retries": retries[0],
        "ledger_reconciles": not mismatches,
    }


def _variants(args: argparse.Namespace) -> list[tuple[int, int, str]]:
    variants = []
    for threads in (int(t) for t in args.threads.split(",")):
        for batch in (int(b) for b in args.batches.split(",")):
            paths = args.batch_paths.split(",") if batch > 1 else ["single"]
            variants += [(threads, batch, path) for path in paths]
    return variants


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--databases", default="sqlite,mariadb", help="comma list: sqlite,mariadb")
    parser.add_argument("--threads", default="1,8", help="comma list of thread counts")
    parser.add_argument("--orders", type=int, default=3000, help="orders per run")
    parser.add_argument(
        "--batches", default="1", help="comma list of orders per transaction (1: one each)"
    )
    parser.add_argument(
        "--batch-paths",
        default="together",
        help="comma list for batches > 1: together (the fast path), one-by-one (savepoints)",
    )
    parser.add_argument("--output", default="bench/results/db_deduct.json")
    args = parser.parse_args()
    results = []
    for kind in args.databases.split(","):
        for threads, batch, path in _variants(args):
            print(
                f"[bench] {kind}, {threads} thread(s), {args.orders} orders, batch {batch}"
                f"{' ' + path if batch > 1 else ''} ...",
                file=sys.stderr,
                flush=True,
            )
            result = run(kind, threads, args.orders, batch, path)
            print(
                f"[bench]   {result['orders_per_second']} orders/s, "
                f"p50 {result['latency_ms_p50']} ms, p99 {result['latency_ms_p99']} ms",
                file=sys.stderr,
                flush=True,
            )
            results.append(result)
    report = {
        "benchmark": "db_deduct",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": results,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if all(r["ledger_reconciles"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
