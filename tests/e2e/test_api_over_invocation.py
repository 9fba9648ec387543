"""The ProductService API through Dapr service invocation from the simulator (scenario 8 of
issue 4): every method, and the status code and error code of each kind of bad input.

Each test makes its own product through CreateProduct (the `catalog` fixture), so each case
stands alone. Reads and refusals have one shape each and are one case per call; the calls that
change stock are tests of their own, in the order an order lives them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from product_service.contract.product.v1 import events_pb2 as ev
from product_service.contract.product.v1 import product_service_pb2 as api
from tests.e2e.world import DEDUCTED, REVERTED, World

pytestmark = pytest.mark.e2e

BAD, MISSING = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
UNKNOWN = 2**62  # an id no test makes


@dataclass(frozen=True)
class Catalog:
    """What CreateProduct answered for one test: the product, its two SKUs in code order, and
    the three codes (the third is never created)."""

    created: Any
    low: Any  # codes[0]: price 19.90, stock 4, warn threshold 5 (below it)
    high: Any  # codes[1]: price 5.00, stock 50, warn threshold 10
    codes: list[str]


@pytest.fixture
def catalog(world: World) -> Catalog:
    tag = uuid.uuid4().hex[:8]  # one tag for the three codes, so they sort as numbered
    codes = [f"e2e-{world.token}-api-{tag}-{n}" for n in range(3)]
    created = world.sim.product.CreateProduct(
        api.CreateProductRequest(
            name="e2e api product",
            skus=[
                api.NewSku(code=codes[0], price="19.90", stock=4, warn_threshold=5),
                api.NewSku(code=codes[1], price="5.00", stock=50, warn_threshold=10),
            ],
        ),
        timeout=30,
    )
    low, high = sorted(created.skus, key=lambda s: s.code)
    return Catalog(created, low, high, codes)


def refused(call: Any, request: Any, status: grpc.StatusCode, code: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=30)
    error: Any = info.value
    assert error.code() == status, (error.code(), error.details())
    assert error.details().startswith(f"{code}:"), error.details()


def _reply(reply: Any) -> tuple[int, int, int, bool]:
    return (reply.order_id, reply.outcome, reply.reason, reply.duplicate)


def _six_of_high(c: Catalog) -> Any:
    return ev.OrderDetail(product_id=c.created.id, sku_id=c.high.id, quantity=6)


def _deduct_six_of_high(world: World, c: Catalog, order: int) -> None:
    """Given: the order has taken 6 of the high SKU, through the API."""
    request = api.DeductInventoryRequest(order_id=order, lines=[_six_of_high(c)])
    reply = world.sim.product.DeductInventory(request, timeout=30)
    assert _reply(reply) == (order, api.SUCCEEDED, ev.NONE, False)
    assert world.stock(c.high.id) == 44


# CreateProduct -------------------------------------------------------------------------------


def test_create_product_answers_the_product_and_each_sku(catalog: Catalog) -> None:
    created, low, high, codes = catalog.created, catalog.low, catalog.high, catalog.codes
    assert created.id > 0 and created.name == "e2e api product"
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


# Reads: one call, the part of its reply compared, and what it must be ------------------------


@dataclass(frozen=True)
class Read:
    method: str
    request: Callable[[Catalog], Any]
    seen: Callable[[Any], Any]
    expected: Callable[[Catalog], Any]


READS = [
    Read(
        "GetProduct",
        lambda c: api.GetProductRequest(product_id=c.created.id),
        lambda r: (r.id, r.name, sorted(r.skus, key=lambda s: s.code)),
        lambda c: (c.created.id, c.created.name, [c.low, c.high]),
    ),
    Read("GetSku", lambda c: api.GetSkuRequest(sku_id=c.low.id), lambda r: r, lambda c: c.low),
    Read(
        "GetStockByCode",
        lambda c: api.GetStockByCodeRequest(code=c.codes[1]),
        lambda r: r,
        lambda c: c.high,
    ),
    Read(
        "CheckThresholds",
        lambda c: api.CheckThresholdsRequest(sku_ids=[c.low.id, c.high.id, UNKNOWN]),
        lambda r: {
            (s.sku_id, s.known, s.stock, s.warn_threshold, s.below_threshold) for s in r.statuses
        },
        lambda c: {
            (c.low.id, True, 4, 5, True),
            (c.high.id, True, 50, 10, False),
            (UNKNOWN, False, 0, 0, False),
        },
    ),
]


@pytest.mark.parametrize("read", READS, ids=lambda r: r.method)
def test_a_read_answers_what_create_product_made(
    world: World, catalog: Catalog, read: Read
) -> None:
    reply = getattr(world.sim.product, read.method)(read.request(catalog), timeout=30)
    assert read.seen(reply) == read.expected(catalog)


# Refusals: one call with bad input, its status and error code ---------------------------------


@dataclass(frozen=True)
class Refusal:
    method: str
    request: Callable[[World, Catalog], Any]
    status: grpc.StatusCode
    code: str


REFUSALS = [
    Refusal(
        "CreateProduct",
        lambda w, c: api.CreateProductRequest(
            name="dup", skus=[api.NewSku(code=c.codes[0], price="1.00", stock=1)]
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        "DUPLICATE_SKU_CODE",
    ),
    Refusal(
        "CreateProduct",
        lambda w, c: api.CreateProductRequest(
            name=" ", skus=[api.NewSku(code=c.codes[2], price="1.00", stock=1)]
        ),
        BAD,
        "INVALID_NAME",
    ),
    Refusal(
        "CreateProduct", lambda w, c: api.CreateProductRequest(name="none", skus=[]), BAD, "NO_SKUS"
    ),
    Refusal(
        "CreateProduct",
        lambda w, c: api.CreateProductRequest(
            name="cents", skus=[api.NewSku(code=c.codes[2], price="1.234", stock=1)]
        ),
        BAD,
        "INVALID_PRICE",
    ),
    Refusal(
        "GetProduct",
        lambda w, c: api.GetProductRequest(product_id=UNKNOWN),
        MISSING,
        "UNKNOWN_PRODUCT",
    ),
    Refusal("GetProduct", lambda w, c: api.GetProductRequest(product_id=0), BAD, "INVALID_ID"),
    Refusal("GetSku", lambda w, c: api.GetSkuRequest(sku_id=UNKNOWN), MISSING, "UNKNOWN_SKU"),
    Refusal("GetSku", lambda w, c: api.GetSkuRequest(sku_id=-1), BAD, "INVALID_ID"),
    Refusal(
        "GetStockByCode",
        lambda w, c: api.GetStockByCodeRequest(code=f"e2e-{w.token}-nowhere"),
        MISSING,
        "UNKNOWN_SKU",
    ),
    Refusal(
        "DeductInventory",
        lambda w, c: api.DeductInventoryRequest(
            order_id=w.new_order_id(),
            lines=[ev.OrderDetail(product_id=c.created.id, sku_id=c.high.id, quantity=0)],
        ),
        BAD,
        "INVALID_QUANTITY",
    ),
    Refusal(
        "DeductInventory",
        lambda w, c: api.DeductInventoryRequest(order_id=w.new_order_id()),
        BAD,
        "EMPTY_ORDER",
    ),
    Refusal(
        "DeductInventory",
        lambda w, c: api.DeductInventoryRequest(order_id=0, lines=[_six_of_high(c)]),
        BAD,
        "INVALID_ID",
    ),
    Refusal(
        "RevertInventory", lambda w, c: api.RevertInventoryRequest(order_id=-5), BAD, "INVALID_ID"
    ),
    Refusal(
        "AdjustStock",
        lambda w, c: api.AdjustStockRequest(sku_id=UNKNOWN, delta=1, reason="restock"),
        MISSING,
        "UNKNOWN_SKU",
    ),
    Refusal(
        "AdjustStock",
        lambda w, c: api.AdjustStockRequest(sku_id=c.low.id, delta=0, reason="nothing"),
        BAD,
        "INVALID_DELTA",
    ),
    Refusal(
        "AdjustStock",
        lambda w, c: api.AdjustStockRequest(sku_id=c.low.id, delta=1, reason="  "),
        BAD,
        "MISSING_REASON",
    ),
    Refusal(
        "GetOrder",
        lambda w, c: api.GetOrderRequest(order_id=w.new_order_id()),
        MISSING,
        "ORDER_NOT_FOUND",
    ),
    Refusal("GetOrder", lambda w, c: api.GetOrderRequest(order_id=0), BAD, "INVALID_ID"),
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda r: f"{r.method}-{r.code}")
def test_bad_input_is_refused_with_its_status_and_code_and_changes_no_stock(
    world: World, catalog: Catalog, refusal: Refusal
) -> None:
    call = getattr(world.sim.product, refusal.method)
    refused(call, refusal.request(world, catalog), refusal.status, refusal.code)
    assert [world.stock(s.id) for s in (catalog.low, catalog.high)] == [4, 50]


# The calls that change stock, as an order lives them ----------------------------------------


def test_deduct_inventory_decides_once_answers_duplicates_and_refuses_short_stock(
    world: World, catalog: Catalog
) -> None:
    rpc, created, low, high = world.sim.product, catalog.created, catalog.low, catalog.high
    order = world.new_order_id()
    deduct = api.DeductInventoryRequest(order_id=order, lines=[_six_of_high(catalog)])
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

    # The synchronous calls went through the same use cases: their outcomes were published.
    assert world.wait_outcome(order, topic=DEDUCTED).data["OrderId"] == str(order)
    assert world.wait_outcome(short).data["Reason"] == "INSUFFICIENT_STOCK"


def test_revert_inventory_gives_back_once_and_answers_duplicates(
    world: World, catalog: Catalog
) -> None:
    rpc = world.sim.product
    order = world.new_order_id()
    _deduct_six_of_high(world, catalog, order)

    revert = api.RevertInventoryRequest(order_id=order)
    assert _reply(rpc.RevertInventory(revert, timeout=30)) == (order, api.SUCCEEDED, ev.NONE, False)
    assert _reply(rpc.RevertInventory(revert, timeout=30)) == (order, api.SUCCEEDED, ev.NONE, True)
    assert world.stock(catalog.high.id) == 50

    # Published, on its own topic (so in either order with the deduct's at the simulator).
    assert world.wait_outcome(order, topic=REVERTED).data["OrderId"] == str(order)


def test_get_order_lists_each_operation_of_the_order(world: World, catalog: Catalog) -> None:
    rpc = world.sim.product
    order = world.new_order_id()
    # Each operation twice, the second a duplicate: still one operation each.
    _deduct_six_of_high(world, catalog, order)
    rpc.DeductInventory(
        api.DeductInventoryRequest(order_id=order, lines=[_six_of_high(catalog)]), timeout=30
    )
    for _ in range(2):
        rpc.RevertInventory(api.RevertInventoryRequest(order_id=order), timeout=30)

    record = rpc.GetOrder(api.GetOrderRequest(order_id=order), timeout=30)
    assert record.order_id == order
    assert sorted((op.operation, op.outcome, op.reason) for op in record.operations) == [
        ("DEDUCT", api.SUCCEEDED, ev.NONE),
        ("REVERT", api.SUCCEEDED, ev.NONE),
    ]


def test_adjust_stock_adds_and_refuses_to_take_more_than_there_is(
    world: World, catalog: Catalog
) -> None:
    rpc, low = world.sim.product, catalog.low
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
    assert world.stock(low.id) == 11
