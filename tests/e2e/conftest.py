"""End-to-end fixtures: one full Dapr stack for the session (product service and the order
simulator, each beside its own daprd) on the real Kafka, Redis and MariaDB of `scripts/infra`.

Each session has topics of its own (devstack's topic suffix: other stacks on this Kafka must not
consume our payments, nor we theirs), its own consumer groups, order ids and SKU codes, so
several sessions (and other people's stacks) can share the infrastructure and the product_e2e
database at once; nothing is deleted between tests.
Missing infrastructure skips these tests, or fails them under CI=true (tests/ci.py).
"""

from __future__ import annotations

import importlib
import itertools
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from tests.ci import in_ci, unavailable
from tests.e2e.kafka_io import DaprStyleProducer, TopicTail
from tests.e2e.world import World

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "scripts" / "infra"
HOST = "127.0.0.1"
KAFKA_BOOTSTRAP = f"{HOST}:{os.environ.get('KAFKA_PORT', '9092')}"
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))
E2E_DATABASE_URL = os.environ.get(
    "PRODUCT_E2E_MYSQL_URL", "mysql+pymysql://product:product@127.0.0.1:3306/product_e2e"
)

# One token per session: consumer groups, SKU codes and order ids derive from it.
RUN_TOKEN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def _import_or_skip(module: str, owner: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"{module} is not importable ({exc}); it comes with {owner}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def e2e_engine() -> Iterator[Engine]:
    """The service's own database, read by the tests to check ledger and outbox rows."""
    engine = create_engine(E2E_DATABASE_URL, pool_pre_ping=True, pool_recycle=60)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        unavailable("mariadb", f"{E2E_DATABASE_URL}: {exc.orig}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def infrastructure(e2e_engine: Engine) -> None:
    port = int(KAFKA_BOOTSTRAP.rsplit(":", 1)[1])
    if not _port_open(port):
        unavailable("kafka", f"nothing listens on {KAFKA_BOOTSTRAP}")
    if not _port_open(REDIS_PORT):
        unavailable("redis", f"nothing listens on {HOST}:{REDIS_PORT}")
    out = subprocess.run([str(INFRA), "daprd-path"], capture_output=True, text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        unavailable("daprd", f"scripts/infra daprd-path: {out.stderr.strip() or 'no binary'}")


@pytest.fixture(scope="session")
def stack(infrastructure: None) -> Iterator[Running]:
    """Product service + order simulator, each with its own daprd, on the full profile."""
    devstack = _import_or_skip("devstack", "tools/devstack (Helper A)")
    _import_or_skip("order_simulator", "tools/order_simulator (Helper A)")
    # Logs stay after the run (pytest's own temp dirs rotate away under concurrent sessions).
    run_dir = REPO_ROOT / ".local" / "e2e" / RUN_TOKEN
    with devstack.Stack(
        profile="full",
        run_dir=run_dir,
        database_url=E2E_DATABASE_URL,
        consumer_group=f"product-consumer-e2e-{RUN_TOKEN}",
        # Topics of our own: other stacks on this Kafka must not consume our payments.
        topic_suffix=f"e2e-{RUN_TOKEN}",
        log_level=os.environ.get("E2E_DAPRD_LOG_LEVEL", "info"),
    ) as started:
        product = started.start_product(env=PRODUCT_ENV)
        sim = started.start_simulator()
        yield Running(started, product, sim)


@dataclass
class Running:
    stack: Any  # devstack.Stack
    product: Any  # its product app handle: kill(), start(env), stop(), sidecar, log_path
    sim: Any  # its simulator handle; .client is the order_simulator.OrderSimulator


# The product service's settings for normal runs; tests that restart it start from these.
PRODUCT_ENV: dict[str, str] = {
    "PRODUCT_RELAY_PUBLISH_DELAY_MS": "0",
    "PRODUCT_SWEEP_INTERVAL_SECONDS": "2",
    "PRODUCT_SWEEP_MIN_AGE_SECONDS": "3",
}


@pytest.fixture(scope="session")
def raw_producer(infrastructure: None) -> DaprStyleProducer:
    return DaprStyleProducer(KAFKA_BOOTSTRAP, source="e2e-raw-producer")


@pytest.fixture(scope="session")
def world(stack: Running, raw_producer: DaprStyleProducer, e2e_engine: Engine) -> World:
    """Catalog, orders and checks for the scenarios, warmed up end to end once."""
    w = World(
        stack=stack,
        raw=raw_producer,
        engine=e2e_engine,
        token=RUN_TOKEN,
        order_ids=itertools.count(_order_id_base()),
    )
    w.warm_up()
    return w


def _order_id_base() -> int:
    """Order ids no other run uses, all below 2**53.

    The simulator writes order ids as JSON numbers, and daprd reads CloudEvent data into
    float64: a larger id arrives rounded (179583674865543001 became ...000 in a first run).
    """
    millis = int(time.time() * 1000) % 10**10
    return millis * 100_000 + (os.getpid() % 100) * 1000


@pytest.fixture
def tail_factory(world: World) -> Iterator[Any]:
    """Opens TopicTails (marked now) on this run's name of a contract topic; closes them."""
    opened: list[TopicTail] = []

    def open_tail(topic: str) -> TopicTail:
        tail = TopicTail(
            KAFKA_BOOTSTRAP, world.wire(topic), group_id=f"e2e-reader-{RUN_TOKEN}-{uuid.uuid4()}"
        )
        opened.append(tail)
        return tail

    yield open_tail
    for tail in opened:
        tail.close()
