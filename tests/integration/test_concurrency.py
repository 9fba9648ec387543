"""Many threads, one hot SKU, real MariaDB: no oversell, no lost or doubled deduction."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select

from product_service.application.errors import TransientError
from product_service.application.service import InventoryService
from product_service.bootstrap import bootstrap
from product_service.domain.model import Outcome
from product_service.infrastructure.db.tables import inbox, outbox, skus, stock_ledger
from product_service.infrastructure.settings import Settings
from tests.factories import order, product_with
from tests.integration.conftest import empty_tables

THREADS, ORDERS_PER_THREAD, STOCK = 8, 500, 1000


@pytest.fixture
def hot_inventory(mariadb_engine: Engine) -> InventoryService:
    empty_tables(mariadb_engine)
    settings = Settings(database_url=mariadb_engine.url.render_as_string(hide_password=False))
    return bootstrap(settings, engine=mariadb_engine).inventory


def deduct_retrying(inventory: InventoryService, order_id: int, sku_id: int) -> Outcome:
    """What the pub/sub RETRY answer does, in miniature: transient errors are tried again."""
    for _ in range(20):
        try:
            return inventory.deduct(order(order_id, (sku_id, 1))).outcome
        except TransientError:
            continue
    raise AssertionError(f"order {order_id} kept failing transiently")


def count(engine: Engine, statement) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(connection.execute(statement).scalar() or 0)


def test_eight_threads_never_oversell_one_hot_sku(
    hot_inventory: InventoryService, mariadb_engine: Engine
) -> None:
    (sku,) = hot_inventory.create_product(product_with(STOCK)).skus
    lowest_seen = [STOCK]
    done = threading.Event()

    def watch_stock() -> None:
        while not done.is_set():
            lowest_seen[0] = min(lowest_seen[0], count(mariadb_engine, select(skus.c.stock)))

    def worker(thread: int) -> Counter[Outcome]:
        first = thread * ORDERS_PER_THREAD + 1
        return Counter(
            deduct_retrying(hot_inventory, oid, sku.id)
            for oid in range(first, first + ORDERS_PER_THREAD)
        )

    watcher = threading.Thread(target=watch_stock)
    watcher.start()
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = sum(pool.map(worker, range(THREADS)), Counter())
    done.set()
    watcher.join()

    assert outcomes == {Outcome.SUCCEEDED: 1000, Outcome.FAILED: 3000}
    assert hot_inventory.sku(sku.id).stock == 0 and lowest_seen[0] >= 0
    assert (
        count(
            mariadb_engine,
            select(func.sum(stock_ledger.c.delta)).where(stock_ledger.c.kind == "DEDUCT"),
        )
        == -1000
    )
    recorded = Counter(
        dict(
            mariadb_engine.connect()
            .execute(select(inbox.c.outcome, func.count()).group_by(inbox.c.outcome))
            .all()
        )
    )
    assert recorded == {"SUCCEEDED": 1000, "FAILED": 3000}
    assert count(mariadb_engine, select(func.count()).select_from(outbox)) == 4000
    assert hot_inventory.ledger_mismatches() == {}


def test_the_same_order_submitted_fifty_times_at_once_deducts_once(
    hot_inventory: InventoryService, mariadb_engine: Engine
) -> None:
    (sku,) = hot_inventory.create_product(product_with(100)).skus
    start = threading.Barrier(50)

    def submit(_: int) -> tuple[Outcome, bool]:
        start.wait()
        for _attempt in range(20):
            try:
                result = hot_inventory.deduct(order(4242, (sku.id, 3)))
                return result.outcome, result.duplicate
            except TransientError:
                continue
        raise AssertionError("kept failing transiently")

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(submit, range(50)))

    assert Counter(results) == {(Outcome.SUCCEEDED, False): 1, (Outcome.SUCCEEDED, True): 49}
    assert hot_inventory.sku(sku.id).stock == 97
    assert count(mariadb_engine, select(func.count()).select_from(outbox)) == 1
    assert (
        count(
            mariadb_engine,
            select(func.count()).select_from(stock_ledger).where(stock_ledger.c.order_id == 4242),
        )
        == 1
    )


def retrying(call, *args):  # type: ignore[no-untyped-def]
    for _ in range(50):
        try:
            return call(*args)
        except TransientError:
            continue
    raise AssertionError("kept failing transiently")


def test_a_revert_racing_its_deduct_always_leaves_the_stock_restored(
    hot_inventory: InventoryService, mariadb_engine: Engine
) -> None:
    from product_service.domain.commands import RevertInventory

    (sku,) = hot_inventory.create_product(product_with(1000)).skus
    orders = range(1, 101)

    def race(order_id: int) -> None:
        start = threading.Barrier(2)

        def pay() -> None:
            start.wait()
            retrying(hot_inventory.deduct, order(order_id, (sku.id, 2)))

        def cancel() -> None:
            start.wait()
            retrying(hot_inventory.revert, RevertInventory(order_id))

        with ThreadPoolExecutor(2) as pair:
            for future in [pair.submit(pay), pair.submit(cancel)]:
                future.result()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(race, orders))

    assert (
        hot_inventory.sku(sku.id).stock == 1000
    )  # every order ended reverted, whichever came first
    assert hot_inventory.ledger_mismatches() == {}
    for order_id in orders:
        outcomes = {r.operation.value: r.outcome for r in hot_inventory.order_record(order_id)}
        assert outcomes["REVERT"] is Outcome.SUCCEEDED
        assert outcomes["DEDUCT"] in (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.PREEMPTED)
