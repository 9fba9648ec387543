"""The ProductService API through Dapr service invocation from the simulator (scenario 8 of
issue 4): every method, and the status code and error code of each kind of bad input."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from product_service.contract.product.v1 import events_pb2 as ev
from product_service.contract.product.v1 import product_service_pb2 as api
from tests.e2e.world import DEDUCTED, REVERTED, World

pytestmark = pytest.mark.e2e


# 8 -------------------------------------------------------------------------------------------


def refused(call: Any, request: Any, status: grpc.StatusCode, code: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=30)
    error: Any = info.value
    assert error.code() == status, (error.code(), error.details())
    assert error.details().startswith(f"{code}:"), error.details()


def test_every_product_service_method_through_dapr_invocation_with_error_codes(
    world: World,
) -> None:
    rpc = world.sim.product
    bad, missing = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
    codes = [f"e2e-{world.token}-api-{n}" for n in range(3)]

    # CreateProduct
    created = rpc.CreateProduct(
        api.CreateProductRequest(
            name="e2e api product",
            skus=[
                api.NewSku(code=codes[0], price="19.90", stock=4, warn_threshold=5),
                api.NewSku(code=codes[1], price="5.00", stock=50, warn_threshold=10),
            ],
        ),
        timeout=30,
    )
    assert created.id > 0 and created.name == "e2e api product"
    low, high = sorted(created.skus, key=lambda s: s.code)
    assert (low.code, low.price, low.stock, low.warn_threshold, low.status) == (
        codes[0],
        "19.90",
        4,
        5,
        api.ON_SALE,
    )
    assert (high.code, high.stock, high.warn_threshold, high.product_id) == (
        codes[1],
        50,
        10,
        created.id,
    )
    one_sku = api.NewSku(code=codes[2], price="1.00", stock=1)
    dup = api.NewSku(code=codes[0], price="1.00", stock=1)
    refused(
        rpc.CreateProduct,
        api.CreateProductRequest(name="dup", skus=[dup]),
        grpc.StatusCode.ALREADY_EXISTS,
        "DUPLICATE_SKU_CODE",
    )
    refused(
        rpc.CreateProduct, api.CreateProductRequest(name=" ", skus=[one_sku]), bad, "INVALID_NAME"
    )
    refused(rpc.CreateProduct, api.CreateProductRequest(name="none", skus=[]), bad, "NO_SKUS")
    refused(
        rpc.CreateProduct,
        api.CreateProductRequest(
            name="cents", skus=[api.NewSku(code=codes[2], price="1.234", stock=1)]
        ),
        bad,
        "INVALID_PRICE",
    )

    # GetProduct, GetSku, GetStockByCode
    fetched = rpc.GetProduct(api.GetProductRequest(product_id=created.id), timeout=30)
    assert (fetched.id, fetched.name) == (created.id, created.name)
    assert sorted(fetched.skus, key=lambda s: s.code) == [low, high]
    refused(rpc.GetProduct, api.GetProductRequest(product_id=2**62), missing, "UNKNOWN_PRODUCT")
    refused(rpc.GetProduct, api.GetProductRequest(product_id=0), bad, "INVALID_ID")
    assert rpc.GetSku(api.GetSkuRequest(sku_id=low.id), timeout=30) == low
    refused(rpc.GetSku, api.GetSkuRequest(sku_id=2**62), missing, "UNKNOWN_SKU")
    refused(rpc.GetSku, api.GetSkuRequest(sku_id=-1), bad, "INVALID_ID")
    assert rpc.GetStockByCode(api.GetStockByCodeRequest(code=codes[1]), timeout=30) == high
    refused(
        rpc.GetStockByCode,
        api.GetStockByCodeRequest(code=f"e2e-{world.token}-nowhere"),
        missing,
        "UNKNOWN_SKU",
    )

    # CheckThresholds
    checked = rpc.CheckThresholds(
        api.CheckThresholdsRequest(sku_ids=[low.id, high.id, 2**62]), timeout=30
    )
    assert {
        (s.sku_id, s.known, s.stock, s.warn_threshold, s.below_threshold) for s in checked.statuses
    } == {(low.id, True, 4, 5, True), (high.id, True, 50, 10, False), (2**62, False, 0, 0, False)}

    # DeductInventory: success, duplicate, business failure, bad input
    order = world.new_order_id()
    line = ev.OrderDetail(product_id=created.id, sku_id=high.id, quantity=6)
    deduct = api.DeductInventoryRequest(order_id=order, lines=[line])
    assert _reply(rpc.DeductInventory(deduct, timeout=30)) == (order, api.SUCCEEDED, ev.NONE, False)
    assert _reply(rpc.DeductInventory(deduct, timeout=30)) == (order, api.SUCCEEDED, ev.NONE, True)
    assert world.stock(high.id) == 44
    short = world.new_order_id()
    too_many = ev.OrderDetail(product_id=created.id, sku_id=low.id, quantity=5)
    assert _reply(
        rpc.DeductInventory(
            api.DeductInventoryRequest(order_id=short, lines=[too_many]), timeout=30
        )
    ) == (short, api.FAILED, ev.INSUFFICIENT_STOCK, False)
    zero = ev.OrderDetail(product_id=created.id, sku_id=high.id, quantity=0)
    refused(
        rpc.DeductInventory,
        api.DeductInventoryRequest(order_id=world.new_order_id(), lines=[zero]),
        bad,
        "INVALID_QUANTITY",
    )
    refused(
        rpc.DeductInventory,
        api.DeductInventoryRequest(order_id=world.new_order_id()),
        bad,
        "EMPTY_ORDER",
    )
    refused(
        rpc.DeductInventory, api.DeductInventoryRequest(order_id=0, lines=[line]), bad, "INVALID_ID"
    )

    # RevertInventory
    revert = api.RevertInventoryRequest(order_id=order)
    assert _reply(rpc.RevertInventory(revert, timeout=30)) == (order, api.SUCCEEDED, ev.NONE, False)
    assert _reply(rpc.RevertInventory(revert, timeout=30)) == (order, api.SUCCEEDED, ev.NONE, True)
    assert world.stock(high.id) == 50
    refused(rpc.RevertInventory, api.RevertInventoryRequest(order_id=-5), bad, "INVALID_ID")

    # AdjustStock
    adjusted = rpc.AdjustStock(
        api.AdjustStockRequest(sku_id=low.id, delta=7, reason="e2e restock"), timeout=30
    )
    assert (adjusted.id, adjusted.stock) == (low.id, 11)
    refused(
        rpc.AdjustStock,
        api.AdjustStockRequest(sku_id=low.id, delta=-12, reason="write off"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "INSUFFICIENT_STOCK",
    )
    refused(
        rpc.AdjustStock,
        api.AdjustStockRequest(sku_id=2**62, delta=1, reason="restock"),
        missing,
        "UNKNOWN_SKU",
    )
    refused(
        rpc.AdjustStock,
        api.AdjustStockRequest(sku_id=low.id, delta=0, reason="nothing"),
        bad,
        "INVALID_DELTA",
    )
    refused(
        rpc.AdjustStock,
        api.AdjustStockRequest(sku_id=low.id, delta=1, reason="  "),
        bad,
        "MISSING_REASON",
    )
    assert world.stock(low.id) == 11

    # GetOrder
    record = rpc.GetOrder(api.GetOrderRequest(order_id=order), timeout=30)
    assert record.order_id == order
    assert sorted((op.operation, op.outcome, op.reason) for op in record.operations) == [
        ("DEDUCT", api.SUCCEEDED, ev.NONE),
        ("REVERT", api.SUCCEEDED, ev.NONE),
    ]
    refused(
        rpc.GetOrder,
        api.GetOrderRequest(order_id=world.new_order_id()),
        missing,
        "ORDER_NOT_FOUND",
    )
    refused(rpc.GetOrder, api.GetOrderRequest(order_id=0), bad, "INVALID_ID")

    # The synchronous calls went through the same use cases: their outcomes were published (on
    # two topics, so in either order at the simulator).
    assert world.wait_outcome(order, topic=DEDUCTED).data["OrderId"] == str(order)
    assert world.wait_outcome(order, topic=REVERTED).data["OrderId"] == str(order)
    assert world.wait_outcome(short).data["Reason"] == "INSUFFICIENT_STOCK"


def _reply(reply: Any) -> tuple[int, int, int, bool]:
    return (reply.order_id, reply.outcome, reply.reason, reply.duplicate)
