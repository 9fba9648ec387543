"""End-to-end latency of a paid order (issue 4, scenario 1): from the publish call on the order
simulator to the simulator's receipt of OnInventoryDeductSuccess, through two daprd sidecars,
Kafka, Redis locks and MariaDB. Orders go one at a time; prints the median and writes JSON.

    scripts/infra up
    PYTHONPATH=tools .venv/bin/python bench/e2e_latency.py   # 20 orders
    PYTHONPATH=tools .venv/bin/python bench/e2e_latency.py --orders 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from devstack import Stack
from product_service.contract.product.v1 import product_service_pb2 as api

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get(
    "PRODUCT_E2E_MYSQL_URL", "mysql+pymysql://product:product@127.0.0.1:3306/product_e2e"
)


def received_at(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def measure(orders: int) -> list[float]:
    token = uuid.uuid4().hex[:8]
    with Stack(
        profile="full",
        run_dir=ROOT / ".local" / "bench" / f"e2e-{token}",
        database_url=DATABASE_URL,
        consumer_group=f"product-consumer-bench-{token}",
        topic_suffix=f"bench-{token}",
    ) as stack:
        stack.start_product()
        sim = stack.start_simulator().client
        product = sim.product.CreateProduct(
            api.CreateProductRequest(
                name="latency bench",
                skus=[api.NewSku(code=f"bench-{token}", price="1.00", stock=1_000_000)],
            ),
            timeout=30,
        )
        line = (product.id, product.skus[0].id, 1)
        base = (int(time.time() * 1000) % 10**10) * 100_000  # below 2**53, see tests/e2e
        latencies = []
        for n in range(orders + 1):  # the first order warms both consumers up, not counted
            started = time.time()
            sim.pay(base + n, [line])
            [event] = sim.wait_for(base + n, topic="OnInventoryDeductSuccess", timeout=60)
            if n:
                latencies.append((received_at(event.received_at) - started) * 1000)
        return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20)
    args = parser.parse_args()
    latencies = measure(args.orders)
    result = {
        "benchmark": "e2e_latency",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "orders": args.orders,
        "median_ms": round(statistics.median(latencies), 1),
        "min_ms": round(min(latencies), 1),
        "max_ms": round(max(latencies), 1),
        "latencies_ms": [round(x, 1) for x in latencies],
    }
    out = ROOT / "bench" / "results" / f"e2e_latency-{result['when']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"paid order -> OnInventoryDeductSuccess, n={args.orders}: median {result['median_ms']} ms"
        f" (min {result['min_ms']}, max {result['max_ms']}); {out.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
