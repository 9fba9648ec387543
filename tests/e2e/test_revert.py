"""Revert and compensation (scenarios 6 and 7 of issue 4): OnInventoryDeductSuccessDLQ restores the
stock exactly once; a revert over gRPC before the payment makes the deduct refuse the order."""

from __future__ import annotations

import pytest

from product_service.contract.product.v1 import events_pb2 as ev
from product_service.contract.product.v1 import product_service_pb2 as api
from tests.e2e.world import DEDUCTED, FAILED, REVERTED, World, distinct_ids, wait_published

pytestmark = pytest.mark.e2e


# 6 -------------------------------------------------------------------------------------------


def test_compensation_restores_stock_exactly_once_and_replays_change_nothing(
    world: World,
) -> None:
    sku = world.new_sku(stock=10, threshold=2)
    order = world.new_order_id()
    world.pay(order, [(sku, 3)])
    deducted = world.wait_outcome(order, topic=DEDUCTED)
    assert world.stock(sku.sku_id) == 7

    world.reject(order, [(sku, 3)])

    reverted = world.wait_outcome(order, topic=REVERTED)
    assert reverted.data == {
        "OrderId": str(order),
        "Sku": [{"Id": str(sku.sku_id), "Quantity": 3, "Stock": 10}],
    }
    assert world.stock(sku.sku_id) == 10

    for _ in range(3):
        world.reject(order, [(sku, 3)])
    world.raw_reject(order, [(sku, 3)], key=str(order))
    world.barrier_behind_rejections(str(order))

    assert world.stock(sku.sku_id) == 10
    assert world.ledger(order) == [(sku.sku_id, "DEDUCT", -3), (sku.sku_id, "REVERT", 3)]
    assert distinct_ids(world.outcomes(order, topic=REVERTED)) == [reverted.id]
    assert distinct_ids(world.outcomes(order)) == [deducted.id, reverted.id]
    assert wait_published(world, order, 2) == [
        (deducted.id, DEDUCTED, True),
        (reverted.id, REVERTED, True),
    ]


# 7 -------------------------------------------------------------------------------------------


def test_revert_over_grpc_before_the_payment_makes_the_deduct_refuse_order_reverted(
    world: World,
) -> None:
    sku = world.new_sku(stock=10)
    order = world.new_order_id()

    reply = world.sim.product.RevertInventory(
        api.RevertInventoryRequest(order_id=order), timeout=30
    )
    assert (reply.order_id, reply.outcome, reply.reason, reply.duplicate) == (
        order,
        api.SUCCEEDED,
        ev.NONE,
        False,
    )
    reverted = world.wait_outcome(order, topic=REVERTED)
    assert reverted.data == {"OrderId": str(order), "Sku": []}

    world.pay(order, [(sku, 2)])

    refused = world.wait_outcome(order, topic=FAILED)
    assert refused.data == {
        "OrderId": str(order),
        "Reason": "ORDER_REVERTED",
        "Lines": [
            {"SkuId": str(sku.sku_id), "Requested": 2, "Available": 10, "Reason": "ORDER_REVERTED"}
        ],
    }
    assert world.stock(sku.sku_id) == 10
    assert world.ledger(order) == []
    record = world.sim.product.GetOrder(api.GetOrderRequest(order_id=order), timeout=30)
    assert {(op.operation, op.outcome, op.reason) for op in record.operations} == {
        ("REVERT", api.SUCCEEDED, ev.NONE),
        ("DEDUCT", api.FAILED, ev.ORDER_REVERTED),
    }
    assert distinct_ids(world.outcomes(order)) == [reverted.id, refused.id]
