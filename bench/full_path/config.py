"""The bench's settings: where it runs (paths, database, ports of the shared infrastructure),
the contract topics, and the numbers that define a run and its verdict."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
