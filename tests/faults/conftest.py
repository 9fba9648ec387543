"""Fault suite fixtures: one full Dapr stack for the session (product service and order
simulator, each beside its own daprd) on the real Kafka, Redis and MariaDB of `scripts/infra`,
with the database product_faults, topics and consumer groups of this run; and the table of
results printed at the end of the run.
"""

from __future__ import annotations

import itertools
import os
import random
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.e2e.kafka_io import DaprStyleProducer
from tests.e2e.world import World
from tests.faults.check import Row
from tests.fullstack import (
    KAFKA_BOOTSTRAP,
    Running,
    database,
    full_stack,
    order_id_base,
    require_infrastructure,
)

FAULTS_DATABASE_URL = os.environ.get(
    "PRODUCT_FAULTS_MYSQL_URL", "mysql+pymysql://product:product@127.0.0.1:3306/product_faults"
)
RUN_TOKEN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
SEED = int(os.environ.get("FAULTS_SEED", random.SystemRandom().randrange(10**6)))
ROWS: list[Row] = []


@pytest.fixture(scope="session")
def faults_engine() -> Iterator[Engine]:
    with database(FAULTS_DATABASE_URL) as engine:
        yield engine


@pytest.fixture(scope="session")
def faults_stack(faults_engine: Engine) -> Iterator[Running]:
    require_infrastructure()
    with full_stack("faults", RUN_TOKEN, FAULTS_DATABASE_URL) as running:
        yield running


@pytest.fixture(scope="session")
def world(faults_stack: Running, faults_engine: Engine) -> World:
    """Catalog, payments and database reads of the run, warmed up end to end once."""
    w = World(
        stack=faults_stack,
        raw=DaprStyleProducer(KAFKA_BOOTSTRAP, source="faults-raw-producer"),
        engine=faults_engine,
        token=f"faults-{RUN_TOKEN}",
        order_ids=itertools.count(order_id_base()),
    )
    w.warm_up()
    return w


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """Each scenario's own random source, from the run's seed (FAULTS_SEED repeats a run)."""
    return random.Random(f"{SEED}-{request.node.name}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"fault suite (seed {SEED}, run {RUN_TOKEN})")
    header = (
        "scenario",
        "replicas",
        "orders",
        "lost",
        "doubled",
        "dead-lettered",
        "settle s",
        "recover s",
        "note",
    )
    widths = (36, 8, 6, 4, 7, 16, 8, 9, 0)
    write("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in ROWS:
        settle = f"{row.settle_seconds:.1f}" if row.settle_seconds is not None else "never"
        recover = f"{row.recover_seconds:.1f}" if row.recover_seconds is not None else "-"
        dead = f"{row.dead_lettered} ({row.poison} poison)"
        cells = (
            row.scenario,
            row.replicas,
            row.orders,
            row.lost,
            row.doubled,
            dead,
            settle,
            recover,
            row.note,
        )
        write("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    write(
        "settle s: from the end of the fault until the outcome event of every order sent "
        "before then was read from Kafka (no fault: from the stream's last message)"
    )
    write(
        "recover s: from a replacement (restarted app or replica) being ready until it "
        "answered its first payment delivery; the longest of the scenario's replacements"
    )
