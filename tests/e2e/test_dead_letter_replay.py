"""Dead letters after an outage, end to end: MariaDB stays down longer than the sidecar retries
a payment, so the payments are dead-lettered; the service records them once MariaDB is back;
`product-service dead-letters replay --since` makes every order decided exactly once, and a
second replay changes nothing. A poison payment replayed with them is dead-lettered again
each time, and its one record counts it.

The stack is its own (not the session's): its sidecar gives up after about 3 s of RETRY
answers (the shipped policy: about 3 minutes), so the outage lasts seconds, not minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from product_service.infrastructure.db.tables import dead_letters, outbox
from tests.e2e.conftest import RUN_TOKEN, own_database_url, warmed_world
from tests.e2e.kafka_io import DaprStyleProducer, TopicTail
from tests.e2e.kafka_io import order_of as _order_of
from tests.e2e.world import World
from tests.eventually import eventually
from tests.fullstack import (
    KAFKA_BOOTSTRAP,
    database,
    full_stack,
    infra,
    require_managed,
)

pytestmark = pytest.mark.e2e

PAID, DEDUCTED = "OnPaymentSuccess", "OnInventoryDeductSuccess"
QUICK_RETRIES = {"maxRetries": 3, "maxInterval": "1s"}  # about 2.5 s of retries
ORDERS = 10


@pytest.fixture(scope="module")
def quick_world(infrastructure: None, raw_producer: DaprStyleProducer) -> Iterator[World]:
    token = f"{RUN_TOKEN}-dlq"
    url = own_database_url("dlq")
    with (
        database(url) as engine,
        full_stack("e2e-dlq", token, url, inbound_retry=QUICK_RETRIES) as running,
    ):
        yield warmed_world(running, raw_producer, engine, token)


def test_payments_dead_lettered_in_an_outage_are_decided_once_when_replayed(
    quick_world: World,
) -> None:
    require_managed("mariadb")
    world = quick_world
    sku = world.new_sku(stock=100)
    orders = [world.new_order_id() for _ in range(ORDERS)]
    since = datetime.now(UTC).isoformat()
    poison = world.new_order_id()
    world.raw.publish(world.wire(PAID), {"OrderId": str(poison), "OrderDetails": "none"}, "p")
    assert eventually(lambda: _seen(world, poison), timeout=60)[1] == 1
    tail = TopicTail(KAFKA_BOOTSTRAP, world.wire(f"{PAID}.dead-letter"), f"e2e-dlq-{uuid.uuid4()}")
    try:
        infra("down", "mariadb")
        try:
            assert not world.database_answers(), "MariaDB still answers after scripts/infra down"
            for order in orders:
                world.pay(order, [(sku, 1)])
            dead = tail.wait_count(lambda r: _order_of(r) in orders, count=ORDERS, timeout=120)
            assert {_order_of(r) for r in dead} == set(orders)
        finally:
            infra("up", "mariadb")
    finally:
        tail.close()

    recorded = eventually(lambda: _recorded(world, orders), timeout=120)
    first = _replay(world, since)
    for order in orders:
        assert world.wait_outcome(order, DEDUCTED, timeout=90).data["OrderId"] == str(order)
    second = _replay(world, since)
    eventually(lambda: _replays_published(world, orders, 2 * ORDERS), timeout=90)
    for order in orders:
        world.barrier_behind_payments(str(order))
    # The poison's two replayed copies are dead-lettered again: one record, seen 1 + 2 times.
    reason, times_seen = eventually(lambda: _seen(world, poison, times=3), timeout=60)

    print(
        f"\n{ORDERS} payments in the outage: {len(dead)} dead-lettered, {recorded} recorded "
        f"(RETRIES_EXHAUSTED, seen once each); replay 1: {first}; replay 2: {second}; "
        f"stock {world.stock(sku.sku_id)} of 100; the poison payment seen {times_seen} times"
    )
    assert "replayed 11:" in first and "replayed 11:" in second
    assert reason == "MALFORMED_PAYLOAD"
    assert world.stock(sku.sku_id) == 100 - ORDERS
    for order in orders:
        assert world.ledger(order) == [(sku.sku_id, "DEDUCT", -1)], order
        assert len(world.outcomes(order, DEDUCTED)) >= 1
    assert _recorded(world, orders) == ORDERS  # a replay of a decided order is no dead letter


def _recorded(world: World, orders: list[int]) -> int:
    """Dead letters of these orders, each recorded once, seen once, retries exhausted."""
    columns = dead_letters.c
    statement = select(columns.order_id, columns.reason, columns.times_seen).where(
        columns.original_topic == world.wire(PAID), columns.order_id.in_(orders)
    )
    with world.engine.connect() as connection:
        rows = connection.execute(statement).all()
    assert {(row.reason, row.times_seen) for row in rows} <= {("RETRIES_EXHAUSTED", 1)}, rows
    assert len(rows) == ORDERS, f"{len(rows)} of {ORDERS} dead letters recorded"
    return len(rows)


def _seen(world: World, order_id: int, times: int = 1) -> tuple[str, int]:
    """The reason and times seen of the one dead letter of `order_id`, once seen `times`."""
    columns = dead_letters.c
    statement = select(columns.reason, columns.times_seen).where(
        columns.original_topic == world.wire(PAID), columns.order_id == order_id
    )
    with world.engine.connect() as connection:
        rows = connection.execute(statement).all()
    assert [row.times_seen for row in rows] == [times], rows
    return rows[0].reason, rows[0].times_seen


def _replay(world: World, since: str) -> str:
    """`product-service dead-letters replay --topic T --since TIME` as an operator runs it."""
    command = [sys.executable, "-m", "product_service.interfaces.cli", "dead-letters", "replay"]
    done = subprocess.run(
        [*command, "--topic", world.wire(PAID), "--since", since, "--by", "e2e"],
        capture_output=True,
        text=True,
        env={**os.environ, "PRODUCT_DATABASE_URL": world.stack.stack.database_url},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return " ".join(done.stdout.split()[:8])


def _replays_published(world: World, orders: list[int], expected: int) -> None:
    columns = outbox.c
    statement = select(func.count()).where(
        columns.topic == world.wire(PAID),
        columns.message_id.is_not(None),
        columns.message_key.in_([str(order) for order in orders]),
        columns.published_at.is_not(None),
    )
    with world.engine.connect() as connection:
        published = connection.execute(statement).scalar_one()
    assert published == expected, f"{published} of {expected} replays published"
