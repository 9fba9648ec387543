"""Recovery (scenarios 5 and 10 of issue 4): orders paid while MariaDB is down are decided once
after it returns; an event committed but not published before a SIGKILL is published by the
sweeper after the restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.kafka_io import order_of as _order_of
from tests.e2e.world import DEDUCTED, PAID, World, distinct_ids, wait_published
from tests.fullstack import PRODUCT_ENV, infra, require_managed

pytestmark = pytest.mark.e2e


# 5 -------------------------------------------------------------------------------------------


def test_orders_paid_while_mariadb_is_down_all_succeed_once_after_it_returns(
    world: World, tail_factory: Callable[[str], Any]
) -> None:
    """40 orders, one every 0.3 s; after the 8th MariaDB is stopped (`scripts/infra down
    mariadb`) for 5 s and started again. Every order must end deducted exactly once."""
    require_managed("mariadb")
    sku = world.new_sku(stock=100)
    orders = [world.new_order_id() for _ in range(40)]
    dead_letters = tail_factory(f"{PAID}.dead-letter")
    published = threading.Semaphore(0)
    failures: list[BaseException] = []

    def publish_stream() -> None:
        try:
            for order in orders:
                world.pay(order, [(sku, 1)])
                published.release()
                time.sleep(0.3)
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)
            published.release()

    publisher = threading.Thread(target=publish_stream, daemon=True)
    publisher.start()
    try:
        for _ in range(8):
            published.acquire(timeout=60)
        infra("down", "mariadb")
        assert not world.database_answers(), "MariaDB still answers after scripts/infra down"
        time.sleep(5)
    finally:
        infra("up", "mariadb")
    publisher.join(timeout=120)
    assert not failures, failures

    deadline = time.monotonic() + 180
    while missing := [o for o in orders if not world.outcomes(o)]:
        lost = dead_letters.wait_count(lambda r: _order_of(r) in orders, count=1, timeout=0.5)
        dead = sorted(set(orders) & {_order_of(r) for r in lost})
        assert not dead, (
            f"orders went to the dead-letter topic instead of being retried until MariaDB "
            f"returned, e.g. {dead}; {len(missing)} of {len(orders)} orders without outcome"
        )
        assert time.monotonic() < deadline, f"no outcome for {len(missing)} orders: {missing}"
    for order in orders:
        outcomes = world.outcomes(order)
        assert {o.topic for o in outcomes} == {DEDUCTED}, (order, outcomes)
        assert len(distinct_ids(outcomes)) == 1
    assert not [r for r in dead_letters.drain(1) if _order_of(r) in orders]
    assert world.stock(sku.sku_id) == 60
    for order in orders:
        assert world.ledger(order) == [(sku.sku_id, "DEDUCT", -1)], order
    deducted = sorted(world.outcomes(o)[0].data["Sku"][0]["Stock"] for o in orders)
    assert deducted == list(range(60, 100)), "each remaining-stock value exactly once"


# 10 ------------------------------------------------------------------------------------------


def test_event_committed_but_not_published_before_sigkill_is_published_by_the_sweeper(
    world: World,
) -> None:
    """The relay waits 60 s between commit and publish (PRODUCT_RELAY_PUBLISH_DELAY_MS) and the
    sweeper only takes rows older than an hour, so the app is killed with the row committed
    and unpublished; restarted with the normal settings, the sweeper publishes it."""
    product = world.product
    sku = world.new_sku(stock=10)
    order = world.new_order_id()
    assert product.stop() == 0, "SIGTERM must drain and exit 0"
    killed = False
    try:
        product.start(
            env={
                **PRODUCT_ENV,
                "PRODUCT_RELAY_PUBLISH_DELAY_MS": "60000",
                "PRODUCT_SWEEP_MIN_AGE_SECONDS": "3600",
            }
        )
        world.pay(order, [(sku, 4)])
        _wait_until(lambda: world.outbox(order) != [], f"order {order} committed")
        product.kill()
        killed = True
    finally:
        if not killed:
            product.kill()
        unpublished = world.outbox(order)
        received_before_restart = world.sim.received(order_id=order)
        product.start(env=PRODUCT_ENV)
    assert killed, "the app was not killed between commit and publish"
    assert len(unpublished) == 1 and unpublished[0][1:] == (DEDUCTED, False), unpublished
    assert received_before_restart == []
    assert world.stock(sku.sku_id) == 6

    outcome = world.wait_outcome(order, timeout=90)

    assert outcome.id == unpublished[0][0] and outcome.topic == DEDUCTED
    assert outcome.data["Sku"] == [
        {"Id": str(sku.sku_id), "Quantity": 4, "Stock": 6, "Threshold": 0}
    ]
    assert wait_published(world, order, 1) == [(outcome.id, DEDUCTED, True)]
    assert world.ledger(order) == [(sku.sku_id, "DEDUCT", -4)]
    assert world.stock(sku.sku_id) == 6


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.1)
