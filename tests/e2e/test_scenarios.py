"""The ten end-to-end scenarios of issue 4, on real daprd sidecars, Kafka, Redis and MariaDB.

Every test makes its own SKUs (CreateProduct through Dapr) and order ids, so nothing is reset
between tests and concurrent runs do not disturb each other. No assertion is about time: the
tests wait for events with generous timeouts and then check numbers, ids and reasons exactly.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from sqlalchemy import text

from product_service.contract.product.v1 import events_pb2 as ev
from product_service.contract.product.v1 import product_service_pb2 as api
from tests.e2e.kafka_io import order_of as _order_of
from tests.e2e.test_observability import delta, metric_samples
from tests.e2e.world import (
    DEDUCTED,
    FAILED,
    PAID,
    REJECTED,
    REVERTED,
    Outcome,
    World,
    distinct_ids,
    payment,
    wait_published,
)
from tests.eventually import eventually
from tests.fullstack import PRODUCT_ENV, Running, infra, require_managed

pytestmark = pytest.mark.e2e


def inbox_rows(world: World, order_id: int) -> int:
    with world.engine.connect() as c:
        return int(
            c.execute(
                text("SELECT COUNT(*) FROM inbox WHERE order_id = :o"), {"o": order_id}
            ).scalar_one()
        )


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
        assert not _mariadb_answers(world), "MariaDB still answers after scripts/infra down"
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


def _mariadb_answers(world: World) -> bool:
    try:
        with world.engine.connect() as c:
            c.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure: it does not answer
        return False


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


def test_a_burst_is_decided_in_bulk_and_each_outcome_is_keyed_by_its_order_with_its_event_id(
    world: World, stack: Running, tail_factory: Callable[[str], Any]
) -> None:
    """150 payments written straight into Kafka at once: the sidecar delivers them in bulk (fewer
    deliveries than messages), the relay publishes in bulk, and every outcome record still
    carries its own order id as Kafka key and its outbox event id as CloudEvent id."""
    sku = world.new_sku(stock=1000)
    orders = [world.new_order_id() for _ in range(150)]
    tail = tail_factory(DEDUCTED)
    before = metric_samples(stack)

    for order in orders:
        world.raw_pay(order, [(sku, 1)])

    records = tail.wait_count(lambda r: _order_of(r) in set(orders), count=150, timeout=120)
    by_order = {_order_of(r): r for r in records}
    assert sorted(by_order) == sorted(orders), "one outcome record per order"
    for order, record in by_order.items():
        [(event_id, topic, _)] = wait_published(world, order, 1)
        assert (record.key, (record.envelope or {}).get("id")) == (str(order), event_id)
    assert world.stock(sku.sku_id) == 1000 - 150

    def counted_in_bulk() -> None:
        # The handler observes a delivery's size after the relay may already have published.
        after = metric_samples(stack)
        topic = world.wire(PAID)
        assert delta(before, after, "product_bulk_delivery_entries_sum", topic=topic) == 150
        assert delta(before, after, "product_bulk_delivery_entries_count", topic=topic) < 150

    eventually(counted_in_bulk, timeout=30)
