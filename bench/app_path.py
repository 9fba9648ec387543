"""The app's own CPU per order, in process: bulk deliveries handed to the payment handler as the
app channel hands them (parse, decide, write, answer), and the outbox relay publishing every
outcome to a stand-in that accepts it. No sidecar, no Kafka: only the app and MariaDB, so a
lever on the app's code shows without the full stack's noise (judge it by `CPU ms/order`, all
threads of the process; `handler` is the delivering thread's share, the rest is mostly the
relay).

    .venv/bin/python bench/app_path.py                 # needs MariaDB: scripts/infra up mariadb
    .venv/bin/python bench/app_path.py --batches 1,100 --orders 3000

It drops and recreates the tables of `product_bench` (as bench/db_deduct.py does). Tracing is
configured as in production (OTLP to 127.0.0.1:4317, 1% of traces; nothing needs to listen) and
logging as `serve` does it, to /dev/null.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))

from sqlalchemy import Engine, text  # noqa: E402

from product_service.bootstrap import Adapters, Runtime, build_runtime  # noqa: E402
from product_service.domain.commands import CreateProduct, NewSku  # noqa: E402
from product_service.infrastructure.db import migrate  # noqa: E402
from product_service.infrastructure.db.engine import build_engine  # noqa: E402
from product_service.infrastructure.db.tables import metadata  # noqa: E402
from product_service.infrastructure.logs import configure_logging  # noqa: E402
from product_service.infrastructure.outbox_codec import OutboxMessage  # noqa: E402
from product_service.infrastructure.settings import Settings  # noqa: E402
from product_service.interfaces.grpc.bulk import BulkDelivery, BulkMessage  # noqa: E402
from product_service.interfaces.grpc.intake import Intake  # noqa: E402
from product_service.interfaces.grpc.subscriptions import TopicHandlers  # noqa: E402

DATABASE_URL = os.environ.get(
    "PRODUCT_BENCH_MYSQL_URL", "mysql+pymysql://product:product@127.0.0.1:3306/product_bench"
)
SKUS, LINES = 1000, 3


class AcceptingPublisher:
    """The sidecar's publish API as a stand-in that accepts everything, counting."""

    def __init__(self) -> None:
        self.published = 0

    def publish(self, message: OutboxMessage) -> None:
        self.published += 1

    def publish_batch(self, messages: Sequence[OutboxMessage]) -> set[str]:
        self.published += len(messages)
        return set()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", default="1,40,100", help="orders per bulk delivery")
    parser.add_argument("--orders", type=int, default=4000, help="orders per batch size")
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--otel-endpoint", default="127.0.0.1:4317", help="'' for no tracing")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    real_stderr, sys.stderr = sys.stderr, open(os.devnull, "w")
    configure_logging("INFO", "json")  # as `serve` logs; the lines cost, their text is not read
    sys.stderr = real_stderr
    settings = Settings(
        database_url=args.database_url,
        lock_store_name="",
        otel_endpoint=args.otel_endpoint or None,
        trace_root_sample_ratio=0.01,
    )
    publisher = AcceptingPublisher()
    runtime = build_runtime(
        settings, Adapters(engine=fresh_engine(args.database_url), publisher=publisher)
    )
    catalog = seed(runtime)
    runtime.relay.start()
    handlers = TopicHandlers(runtime.inventory, runtime.dead_letters, settings, Intake())
    source = Orders(catalog)  # one for every batch size: order ids are never used twice
    rows = []
    try:
        for batch in [int(b) for b in args.batches.split(",")]:
            rows.append(measure(handlers, publisher, source, batch, args.orders))
            print(format_row(rows[-1]), flush=True)
    finally:
        runtime.close()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


def fresh_engine(url: str) -> Engine:
    engine = build_engine(url, pool_size=4)
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate.upgrade(engine)
    return engine


def seed(runtime: Runtime) -> list[tuple[int, int]]:
    catalog: list[tuple[int, int]] = []
    for start in range(0, SKUS, 100):
        skus = tuple(
            NewSku(f"APP-{i:05d}", Decimal("1.00"), 10_000_000, 10)
            for i in range(start, start + 100)
        )
        product = runtime.inventory.create_product(CreateProduct(f"app bench {start}", skus))
        catalog += [(sku.product_id, sku.id) for sku in product.skus]
    return catalog


class Orders:
    def __init__(self, catalog: list[tuple[int, int]]) -> None:
        self.catalog = catalog
        self.rng = random.Random(7)
        self.next_id = int(time.time()) * 1000

    def delivery(self, size: int) -> BulkDelivery:
        messages = []
        for _ in range(size):
            self.next_id += 1
            lines = [
                {"product_id": str(p), "sku_id": str(s), "quantity": self.rng.randint(1, 3)}
                for p, s in self.rng.sample(self.catalog, LINES)
            ]
            data = json.dumps({"OrderId": str(self.next_id), "OrderDetails": lines}).encode()
            messages.append(BulkMessage(f"bench-{self.next_id}", data))
        return BulkDelivery("OnPaymentSuccess", None, messages, "0")


def measure(
    handlers: TopicHandlers,
    publisher: AcceptingPublisher,
    source: Orders,
    batch: int,
    orders: int,
) -> dict[str, float]:
    count = max(1, orders // batch)
    warm = [source.delivery(batch) for _ in range(max(3, 200 // batch))]
    deliveries = [source.delivery(batch) for _ in range(count)]
    warmed = publisher.published + len(warm) * batch
    for delivery in warm:
        handlers.on_payments_succeeded(delivery)
    wait_published(publisher, warmed)
    target = publisher.published + count * batch
    cpu0, thread0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
    for delivery in deliveries:
        handlers.on_payments_succeeded(delivery)
    thread1 = time.thread_time()
    wait_published(publisher, target)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    n = count * batch
    return {
        "batch": batch,
        "orders": n,
        "cpu_ms_per_order": round(1000 * (cpu1 - cpu0) / n, 3),
        "handler_ms_per_order": round(1000 * (thread1 - thread0) / n, 3),
        "orders_per_s": round(n / (wall1 - wall0)),
    }


def wait_published(publisher: AcceptingPublisher, target: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while publisher.published < target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the relay published {publisher.published} of {target}")
        time.sleep(0.001)


def format_row(row: dict[str, float]) -> str:
    return (
        f"batch {row['batch']:>4}: {row['orders']:>6} orders, CPU {row['cpu_ms_per_order']:.3f} "
        f"ms/order (handler {row['handler_ms_per_order']:.3f}), {row['orders_per_s']:.0f} orders/s"
    )


if __name__ == "__main__":
    sys.exit(main())
