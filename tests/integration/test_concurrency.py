"""Many threads, one hot SKU, real databases: no oversell, no lost or doubled deduction.

The full-size run (8 threads x 500 orders against a stock of 1000) is MariaDB's; SQLite, which
serialises writers, runs the same test at a fifth of the size.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, func, select

from product_service.application.errors import TransientError
from product_service.application.service import InventoryService
from product_service.domain.commands import RevertInventory
from product_service.domain.model import Outcome
from product_service.infrastructure.db.tables import inbox, outbox, skus, stock_ledger
from tests.factories import order, product_with

THREADS = 8
SIZES = {"mysql": (500, 1000), "sqlite": (100, 200)}  # orders per thread, stock
T = TypeVar("T")


def retrying(call: Callable[..., T], *args: Any) -> T:
    """What the pub/sub RETRY answer does, in miniature: transient errors are tried again."""
    for _ in range(50):
        try:
            return call(*args)
        except TransientError:
            continue
    raise AssertionError(f"{call.__name__}{args} kept failing transiently")


def scalar(engine: Engine, statement: Select[Any]) -> int:
    with engine.connect() as connection:
        return int(connection.execute(statement).scalar() or 0)


def outcomes_recorded(engine: Engine) -> Counter[str]:
    with engine.connect() as connection:
        rows = connection.execute(select(inbox.c.outcome, func.count()).group_by(inbox.c.outcome))
        return Counter({outcome: count for outcome, count in rows})


def test_eight_threads_never_oversell_one_hot_sku(
    inventory: InventoryService, engine: Engine
) -> None:
    orders_per_thread, stock = SIZES[engine.dialect.name]
    total = THREADS * orders_per_thread
    (sku,) = inventory.create_product(product_with(stock)).skus
    lowest_seen = [stock]
    done = threading.Event()

    def watch_stock() -> None:
        while not done.is_set():
            lowest_seen[0] = min(lowest_seen[0], scalar(engine, select(skus.c.stock)))

    def worker(thread: int) -> Counter[Outcome]:
        first = thread * orders_per_thread + 1
        return Counter(
            retrying(inventory.deduct, order(order_id, (sku.id, 1))).outcome
            for order_id in range(first, first + orders_per_thread)
        )

    watcher = threading.Thread(target=watch_stock)
    watcher.start()
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = sum(pool.map(worker, range(THREADS)), Counter[Outcome]())
    done.set()
    watcher.join()

    assert outcomes == {Outcome.SUCCEEDED: stock, Outcome.FAILED: total - stock}
    assert inventory.sku(sku.id).stock == 0 and lowest_seen[0] >= 0
    deducted = select(func.sum(stock_ledger.c.delta)).where(stock_ledger.c.kind == "DEDUCT")
    assert scalar(engine, deducted) == -stock
    assert outcomes_recorded(engine) == {"SUCCEEDED": stock, "FAILED": total - stock}
    assert scalar(engine, select(func.count()).select_from(outbox)) == total
    assert inventory.ledger_mismatches() == {}


def test_the_same_order_submitted_fifty_times_at_once_deducts_once(
    inventory: InventoryService, engine: Engine
) -> None:
    (sku,) = inventory.create_product(product_with(100)).skus
    start = threading.Barrier(50)

    def submit(_: int) -> tuple[Outcome, bool]:
        start.wait()
        result = retrying(inventory.deduct, order(4242, (sku.id, 3)))
        return result.outcome, result.duplicate

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(submit, range(50)))

    assert Counter(results) == {(Outcome.SUCCEEDED, False): 1, (Outcome.SUCCEEDED, True): 49}
    assert inventory.sku(sku.id).stock == 97
    assert scalar(engine, select(func.count()).select_from(outbox)) == 1
    rows_of_order = select(func.count()).where(stock_ledger.c.order_id == 4242)
    assert scalar(engine, rows_of_order) == 1


def test_a_revert_racing_its_deduct_always_leaves_the_stock_restored(
    inventory: InventoryService, engine: Engine
) -> None:
    (sku,) = inventory.create_product(product_with(1000)).skus
    orders = range(1, 101)

    def race(order_id: int) -> None:
        start = threading.Barrier(2)

        def pay() -> None:
            start.wait()
            retrying(inventory.deduct, order(order_id, (sku.id, 2)))

        def cancel() -> None:
            start.wait()
            retrying(inventory.revert, RevertInventory(order_id))

        with ThreadPoolExecutor(2) as pair:
            for future in [pair.submit(pay), pair.submit(cancel)]:
                future.result()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(race, orders))

    assert inventory.sku(sku.id).stock == 1000  # every order ended reverted, whichever came first
    assert inventory.ledger_mismatches() == {}
    for order_id in orders:
        outcomes = {r.operation.value: r.outcome for r in inventory.order_record(order_id)}
        assert outcomes["REVERT"] is Outcome.SUCCEEDED
        assert outcomes["DEDUCT"] in (Outcome.SUCCEEDED, Outcome.FAILED)  # never left preempted
    with engine.connect() as connection:
        rows = connection.execute(select(outbox.c.topic, outbox.c.message_key)).all()
    # Counted row by row, so a doubled event would show: one deduct outcome and one revert each.
    deduct_outcomes = Counter(key for topic, key in rows if topic != "OnInventoryReverted")
    reverts = Counter(key for topic, key in rows if topic == "OnInventoryReverted")
    assert deduct_outcomes == reverts == Counter({str(o): 1 for o in orders})
