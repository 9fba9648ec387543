"""Duplicates, poison and order (scenarios 3, 4 and 9 of issue 4): one order delivered ten times
deducts once, a malformed payload goes to the dead-letter topic and the good ones around it are
decided, and each order's keyed events are decided and reported in the order produced."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from tests.e2e.kafka_io import order_of as _order_of
from tests.e2e.world import (
    DEDUCTED,
    PAID,
    REJECTED,
    REVERTED,
    Outcome,
    World,
    distinct_ids,
    payment,
    wait_published,
)

pytestmark = pytest.mark.e2e


def inbox_rows(world: World, order_id: int) -> int:
    with world.engine.connect() as c:
        return int(
            c.execute(
                text("SELECT COUNT(*) FROM inbox WHERE order_id = :o"), {"o": order_id}
            ).scalar_one()
        )


# 3 -------------------------------------------------------------------------------------------


def test_same_order_five_times_through_dapr_and_five_times_raw_deducts_once_with_one_event_id(
    world: World, tail_factory: Callable[[str], Any]
) -> None:
    """5 publishes through the simulator's sidecar (five CloudEvent ids) and 5 identical
    CloudEvents (one id) written straight into Kafka by a plain producer, all keyed by the order
    id and so in one partition. A sentinel behind them proves all ten were handled."""
    sku = world.new_sku(stock=20)
    order = world.new_order_id()
    tail = tail_factory(PAID)

    for _ in range(5):
        world.pay(order, [(sku, 2)])
    raw_id = f"e2e-redelivery-{world.token}-{order}"
    for _ in range(5):
        world.raw_pay(order, [(sku, 2)], event_id=raw_id)
    world.barrier_behind_payments(str(order))

    copies = tail.wait_count(lambda r: _order_of(r) == order, count=10)
    assert len(copies) == 10
    assert {r.partition for r in copies} == {copies[0].partition}, "not one partition"
    raw_copies = [r for r in copies if (r.envelope or {}).get("source") == "e2e-raw-producer"]
    assert len(raw_copies) == 5 and {(r.envelope or {})["id"] for r in raw_copies} == {raw_id}

    # The sentinel's outcome is keyed by its own order: it may arrive first, on another partition.
    world.wait_outcome(order)
    outcomes = world.outcomes(order)
    assert {o.topic for o in outcomes} == {DEDUCTED}
    [event_id] = distinct_ids(outcomes)
    assert outcomes[0].data["Sku"] == [
        {"Id": str(sku.sku_id), "Quantity": 2, "Stock": 18, "Threshold": 0}
    ]
    assert world.stock(sku.sku_id) == 18
    assert world.ledger(order) == [(sku.sku_id, "DEDUCT", -2)]
    assert wait_published(world, order, 1) == [(event_id, DEDUCTED, True)]


# 4 -------------------------------------------------------------------------------------------


def test_malformed_payload_between_two_good_ones_goes_to_the_dead_letter_topic(
    world: World, tail_factory: Callable[[str], Any]
) -> None:
    """good (simulator), malformed (simulator, publish_raw), good (plain Kafka producer), all
    with one key, so one partition in that order: the consumer must get past the bad one."""
    sku = world.new_sku(stock=10)
    first, malformed, second = (world.new_order_id() for _ in range(3))
    key = str(first)
    dead_letters = tail_factory(f"{PAID}.dead-letter")
    marker = f"not-a-quantity-{world.token}-{malformed}"
    bad = payment(malformed, [(sku, 1)])
    bad["OrderDetails"][0]["quantity"] = marker

    world.pay(first, [(sku, 1)])
    world.sim.publish_raw(PAID, json.dumps(bad).encode(), key)
    world.raw_pay(second, [(sku, 2)], key=key)

    assert world.wait_outcome(first).topic == DEDUCTED
    assert world.wait_outcome(second).topic == DEDUCTED
    letters = dead_letters.wait_for(lambda r: marker in r.data_text, timeout=90)
    assert len(letters) == 1
    assert json.loads(letters[0].data_text)["OrderId"] == malformed
    assert not [
        r for r in dead_letters.records if str(first) in r.data_text or str(second) in r.data_text
    ]
    assert world.stock(sku.sku_id) == 7
    assert inbox_rows(world, malformed) == 0
    assert world.ledger(malformed) == [] and world.outbox(malformed) == []
    assert world.outcomes(malformed) == []


# 9 -------------------------------------------------------------------------------------------


ORDERS_IN_ORDERING_TEST = 20


def test_keyed_events_of_each_order_are_handled_and_reported_in_the_order_produced(
    world: World, tail_factory: Callable[[str], Any]
) -> None:
    """20 orders x 10 events, each order keyed by its id, the orders interleaved.

    Per order k (own SKU, stock 50), produced in this order:
      1-5   OnPaymentSuccess(k) asking for 1, 2, 3, 4, 5 units (one key: one partition);
      6-10  after k's deduct outcome arrived: OnInventoryDeductSuccessDLQ(k), OnPaymentSuccess(k)
            for 6 units, DLQ(k), OnPaymentSuccess(k) for 7 units, DLQ(k).
    Handled in production order, the first payment decides (1 unit), the later four are
    duplicates of a decided deduct, the first DLQ reverts that unit, the rest change nothing.
    So for every order, exactly this outcome sequence, with two distinct event ids:
      OnInventoryDeductSuccess {Quantity 1, Stock 49}, then OnInventoryReverted {Quantity 1,
      Stock 50}.
    Any payment taken out of order would show as Quantity 2..7. The wait between event 5 and 6
    is needed because Kafka orders a key within one topic only: a DLQ message on its own topic
    could otherwise overtake the payment, which is scenario 7's case, not this one.
    Events 6-10 of one order race on two topics for the order's lock; the loser is answered
    RETRY and must be retried, so none of the 200 events may end in a dead-letter topic.
    """
    skus = world.new_skus([(50, 0)] * ORDERS_IN_ORDERING_TEST)
    orders = [world.new_order_id() for _ in skus]
    dead_letters = [tail_factory(f"{topic}.dead-letter") for topic in (PAID, REJECTED)]
    for quantity in range(1, 6):
        for order, sku in zip(orders, skus, strict=True):
            world.pay(order, [(sku, quantity)])
    for order in orders:
        world.wait_outcome(order, topic=DEDUCTED, timeout=120)
    for step in ("reject", 6, "reject", 7, "reject"):
        for order, sku in zip(orders, skus, strict=True):
            if step == "reject":
                world.reject(order, [(sku, 1)])
            else:
                world.pay(order, [(sku, int(step))])
    for order in orders:
        world.wait_outcome(order, topic=REVERTED, timeout=120)
        world.barrier_behind_payments(str(order))
        world.barrier_behind_rejections(str(order))

    for order, sku in zip(orders, skus, strict=True):
        outcomes = world.outcomes(order)
        firsts = _first_receipts(outcomes)
        assert [(o.topic, o.data) for o in firsts] == [
            (
                DEDUCTED,
                {
                    "OrderId": str(order),
                    "Sku": [{"Id": str(sku.sku_id), "Quantity": 1, "Stock": 49, "Threshold": 0}],
                },
            ),
            (
                REVERTED,
                {
                    "OrderId": str(order),
                    "Sku": [{"Id": str(sku.sku_id), "Quantity": 1, "Stock": 50}],
                },
            ),
        ], order
        assert [(i, t) for i, t, _ in world.outbox(order)] == [(o.id, o.topic) for o in firsts]
        assert world.stock(sku.sku_id) == 50
        assert world.ledger(order) == [(sku.sku_id, "DEDUCT", -1), (sku.sku_id, "REVERT", 1)]
    lost = [
        (tail.topic, _order_of(r))
        for tail in dead_letters
        for r in tail.drain(1)
        if _order_of(r) in orders
    ]
    assert lost == [], f"{len(lost)} of the 200 events went to a dead-letter topic: {lost}"


def _first_receipts(outcomes: list[Outcome]) -> list[Outcome]:
    firsts: dict[str, Outcome] = {}
    for outcome in outcomes:
        firsts.setdefault(outcome.id, outcome)
    return list(firsts.values())
