"""The full local stack as the end-to-end and fault tests use it: the infrastructure checks, one
devstack (product service and order simulator, each beside its own daprd) per session, and
`scripts/infra` to stop and start a piece. Missing pieces skip, or fail under CI (tests/ci.py).
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine

from tests.ci import answering, in_ci, unavailable

REPO_ROOT = Path(__file__).resolve().parents[1]
INFRA = REPO_ROOT / "scripts" / "infra"
HOST = "127.0.0.1"
KAFKA_BOOTSTRAP = f"{HOST}:{os.environ.get('KAFKA_PORT', '9092')}"
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))

# The product service's settings for test runs; tests that restart it start from these. An app
# keeps the environment it was last started with, so every setting a test overrides is here.
PRODUCT_ENV: dict[str, str] = {
    "PRODUCT_BULK_ORDER_LOCKS": "false",
    "PRODUCT_RELAY_PUBLISH_DELAY_MS": "0",
    "PRODUCT_SWEEP_INTERVAL_SECONDS": "2",
    "PRODUCT_SWEEP_MIN_AGE_SECONDS": "3",
}


@dataclass
class Running:
    stack: Any  # devstack.Stack
    product: Any  # its product app handle: kill(), start(env), stop(), sidecar, log_path
    sim: Any  # its simulator handle; .client is the order_simulator.OrderSimulator


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def import_or_skip(module: str, owner: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"{module} is not importable ({exc}); it comes with {owner}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@contextmanager
def database(url: str) -> Iterator[Engine]:
    """An engine on the service's database, or the test skipped (failed under CI)."""
    engine = answering(create_engine(url, pool_pre_ping=True, pool_recycle=60), url)
    try:
        yield engine
    finally:
        engine.dispose()


def require_infrastructure() -> None:
    """Kafka and Redis answer, and there is a daprd (MariaDB: see `database`)."""
    port = int(KAFKA_BOOTSTRAP.rsplit(":", 1)[1])
    if not port_open(port):
        unavailable("kafka", f"nothing listens on {KAFKA_BOOTSTRAP}")
    if not port_open(REDIS_PORT):
        unavailable("redis", f"nothing listens on {HOST}:{REDIS_PORT}")
    out = subprocess.run([str(INFRA), "daprd-path"], capture_output=True, text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        unavailable("daprd", f"scripts/infra daprd-path: {out.stderr.strip() or 'no binary'}")


def require_managed(component: str) -> None:
    """Tests that stop a piece need this checkout's scripts/infra to manage the running one."""
    status = subprocess.run(
        [str(INFRA), "status", component], capture_output=True, text=True, check=False
    )
    if status.returncode != 0:
        unavailable(
            component,
            "this checkout's scripts/infra does not manage the running one "
            f"({status.stdout.strip()}); run with INFRA_STATE pointing at the stack's state dir",
        )


def infra(*args: str) -> None:
    """`scripts/infra ARGS`, which must succeed."""
    out = subprocess.run([str(INFRA), *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"scripts/infra {' '.join(args)}: {out.stdout}\n{out.stderr}"


@contextmanager
def full_stack(
    name: str,
    token: str,
    database_url: str,
    env: Mapping[str, str] = PRODUCT_ENV,
    inbound_retry: Mapping[str, object] | None = None,
) -> Iterator[Running]:
    """Product service + order simulator, each with its own daprd, on the full profile.

    Topics (devstack's topic suffix: other stacks on this Kafka must not consume our payments,
    nor we theirs) and consumer groups of their own; logs in .local/<name>/<token>/.
    """
    devstack = import_or_skip("devstack", "tools/devstack")
    import_or_skip("order_simulator", "tools/order_simulator")
    # Logs stay after the run (pytest's own temp dirs rotate away under concurrent sessions).
    with devstack.Stack(
        profile="full",
        run_dir=REPO_ROOT / ".local" / name / token,
        database_url=database_url,
        consumer_group=f"product-consumer-{name}-{token}",
        topic_suffix=f"{name}-{token}",
        log_level=os.environ.get("E2E_DAPRD_LOG_LEVEL", "info"),
        inbound_retry=inbound_retry,
    ) as started:
        product = started.start_product(env=env)
        sim = started.start_simulator()
        yield Running(started, product, sim)


def order_id_base() -> int:
    """Order ids no other run uses, all below 2**53.

    The simulator writes order ids as JSON numbers, and daprd reads CloudEvent data into
    float64: a larger id arrives rounded (179583674865543001 became ...000 in a first run).
    """
    millis = int(time.time() * 1000) % 10**10
    return millis * 100_000 + (os.getpid() % 100) * 1000
