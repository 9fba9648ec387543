"""Paid orders (scenarios 1 and 2 of issue 4, and 64-bit order ids): the stock deducted and the
remaining stock reported, or nothing deducted and every line named; scenario 1's latency."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.e2e.world import DEDUCTED, FAILED, PAID, World, distinct_ids, payment, wait_published

pytestmark = pytest.mark.e2e


# 1 -------------------------------------------------------------------------------------------


def test_paid_order_deducts_stock_and_reports_remaining_stock_and_threshold(world: World) -> None:
    sku = world.new_sku(stock=10, threshold=8)
    order = world.new_order_id()

    world.pay(order, [(sku, 3)])

    outcome = world.wait_outcome(order)
    assert outcome.topic == DEDUCTED
    assert outcome.data == {
        "OrderId": str(order),
        "Sku": [{"Id": str(sku.sku_id), "Quantity": 3, "Stock": 7, "Threshold": 8}],
    }
    assert world.stock(sku.sku_id) == 7
    assert world.ledger(order) == [(sku.sku_id, "DEDUCT", -3)]
    assert wait_published(world, order, 1) == [(outcome.id, DEDUCTED, True)]
    # At least once: a retried publish may deliver the same event twice, never a second event.
    assert distinct_ids(world.outcomes(order)) == [outcome.id]


def test_paid_order_latency_median_of_20(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """Scenario 1's end-to-end latency: from just before the publish call to the simulator's
    receipt of the outcome (its `received_at`), 20 orders one after another. Printed, not
    asserted."""
    sku = world.new_sku(stock=1000, threshold=0)
    latencies = []
    for n in range(20):
        order = world.new_order_id()
        started = time.time()
        world.pay(order, [(sku, 1)])
        outcome = world.wait_outcome(order)
        assert outcome.topic == DEDUCTED and outcome.data["Sku"][0]["Stock"] == 999 - n
        latencies.append((outcome.received_at - started) * 1000)
    with capsys.disabled():
        print(
            f"\ne2e latency, paid order -> OnInventoryDeductSuccess at the simulator (n=20): "
            f"median {statistics.median(latencies):.1f} ms, min {min(latencies):.1f} ms, "
            f"max {max(latencies):.1f} ms"
        )


# 2 -------------------------------------------------------------------------------------------


def test_insufficient_stock_in_one_of_three_lines_deducts_nothing_and_names_each_line(
    world: World,
) -> None:
    plenty_a, scarce, plenty_b = world.new_skus([(10, 0), (1, 0), (10, 0)])
    order = world.new_order_id()

    world.pay(order, [(plenty_a, 2), (scarce, 5), (plenty_b, 3)])

    outcome = world.wait_outcome(order)
    assert outcome.topic == FAILED
    assert outcome.data["OrderId"] == str(order)
    assert outcome.data["Reason"] == "INSUFFICIENT_STOCK"
    lines = {line["SkuId"]: line for line in outcome.data["Lines"]}
    assert len(outcome.data["Lines"]) == 3
    assert lines == {
        str(plenty_a.sku_id): {
            "SkuId": str(plenty_a.sku_id),
            "Requested": 2,
            "Available": 10,
            "Reason": "NONE",
        },
        str(scarce.sku_id): {
            "SkuId": str(scarce.sku_id),
            "Requested": 5,
            "Available": 1,
            "Reason": "INSUFFICIENT_STOCK",
        },
        str(plenty_b.sku_id): {
            "SkuId": str(plenty_b.sku_id),
            "Requested": 3,
            "Available": 10,
            "Reason": "NONE",
        },
    }
    assert [world.stock(s.sku_id) for s in (plenty_a, scarce, plenty_b)] == [10, 1, 10]
    assert world.ledger(order) == []
    assert wait_published(world, order, 1) == [(outcome.id, FAILED, True)]


# Beyond the ten: 64-bit order ids ------------------------------------------------------------


def test_order_id_above_2_53_sent_as_a_json_string_keeps_every_digit(world: World) -> None:
    """daprd reads CloudEvent data into float64, so an order id above 2**53 sent as a JSON
    number arrives rounded (seen: 179583674865543001 became ...000, a different order). As a
    JSON string (the protobuf JSON mapping of int64) it must arrive exact."""
    sku = world.new_sku(stock=5)
    order = 2**62 + world.new_order_id()
    data = payment(order, [(sku, 1)])
    data["OrderId"] = str(order)

    world.raw.publish(world.wire(PAID), data, key=str(order))

    outcome = world.wait_outcome(order)
    assert outcome.topic == DEDUCTED and outcome.data["OrderId"] == str(order)
    assert world.ledger(order) == [(sku.sku_id, "DEDUCT", -1)]
    assert world.stock(sku.sku_id) == 4
