"""End-to-end fixtures: one full Dapr stack for the session (product service and the order
simulator, each beside its own daprd) on the real Kafka, Redis and MariaDB of `scripts/infra`.

Each session has topics of its own (devstack's topic suffix: other stacks on this Kafka must not
consume our payments, nor we theirs), its own consumer groups, order ids and SKU codes, so
several sessions (and other people's stacks) can share the infrastructure at once; nothing is
deleted between tests. A module that starts a stack of its own gives it a database of its own
(`own_database_url`).
Missing infrastructure skips these tests, or fails them under CI=true (tests/ci.py).
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tests.e2e.kafka_io import DaprStyleProducer, TopicTail
from tests.e2e.world import World
from tests.fullstack import (
    INFRA,
    KAFKA_BOOTSTRAP,
    PRODUCT_ENV,
    Running,
    database,
    full_stack,
    order_id_base,
    require_infrastructure,
)

__all__ = ["E2E_DATABASE_URL", "INFRA", "PRODUCT_ENV", "Running"]

E2E_DATABASE_URL = os.environ.get(
    "PRODUCT_E2E_MYSQL_URL", "mysql+pymysql://product:product@127.0.0.1:3306/product_e2e"
)


def own_database_url(stack_name: str) -> str:
    """The database of a module's own stack (created by scripts/infra): stacks never share one.
    A service publishes every unpublished outbox row of its database (the relay at start, the
    sweeper), and a stack's sidecar may publish only its own run's topics, so a row another
    stack left would block it (PERMISSION_DENIED, tried again and again)."""
    return (
        make_url(E2E_DATABASE_URL)
        .set(database=f"product_e2e_{stack_name}")
        .render_as_string(hide_password=False)
    )


# One token per session: consumer groups, SKU codes and order ids derive from it.
RUN_TOKEN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def e2e_engine() -> Iterator[Engine]:
    """The service's own database, read by the tests to check ledger and outbox rows."""
    with database(E2E_DATABASE_URL) as engine:
        yield engine


@pytest.fixture(scope="session")
def infrastructure(e2e_engine: Engine) -> None:
    require_infrastructure()


@pytest.fixture(scope="session")
def stack(infrastructure: None) -> Iterator[Running]:
    """Product service + order simulator, each with its own daprd, on the full profile."""
    with full_stack("e2e", RUN_TOKEN, E2E_DATABASE_URL) as running:
        yield running


@pytest.fixture(scope="session")
def raw_producer(infrastructure: None) -> DaprStyleProducer:
    return DaprStyleProducer(KAFKA_BOOTSTRAP, source="e2e-raw-producer")


@pytest.fixture(scope="session")
def world(stack: Running, raw_producer: DaprStyleProducer, e2e_engine: Engine) -> World:
    """Catalog, orders and checks for the scenarios, warmed up end to end once."""
    return warmed_world(stack, raw_producer, e2e_engine, RUN_TOKEN)


def warmed_world(stack: Running, raw: DaprStyleProducer, engine: Engine, token: str) -> World:
    """A World on `stack`, with order ids and SKU codes of its own (from `token`), after one
    order went through the whole loop."""
    world = World(
        stack=stack, raw=raw, engine=engine, token=token, order_ids=itertools.count(order_id_base())
    )
    world.warm_up()
    return world


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
