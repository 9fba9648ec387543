"""A bulk delivery's orders decided in one transaction, on SQLite and MariaDB: each order all or
nothing, a repeat changes nothing, and an order another writer recorded first cannot fail the
others (the savepoint-per-order path)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select

from product_service.application.errors import TransientError
from product_service.application.results import OperationResult
from product_service.application.service import InventoryService
from product_service.domain.commands import RevertInventory
from product_service.domain.errors import InvalidCommand
from product_service.domain.model import FailureReason, Outcome
from product_service.infrastructure.db import repositories
from product_service.infrastructure.db.tables import inbox, outbox, stock_ledger
from tests.factories import order, product_with
from tests.integration.test_concurrency import retrying
from tests.integration.test_use_cases_on_db import outbox_rows


def count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)  # type: ignore[arg-type]


def test_each_order_of_a_batch_is_all_or_nothing_in_delivery_order(
    inventory: InventoryService, engine: Engine
) -> None:
    a, b = inventory.create_product(product_with(5, 3)).skus
    answers = inventory.deduct_batch(
        [
            order(1, (a.id, 2), (b.id, 1)),
            order(2, (a.id, 1), (b.id, 3)),  # b has 2 left: refused, a untouched
            order(3, (a.id, 0)),  # bad input: answered alone
            order(4, (a.id, 3), (999_999, 1)),  # unknown SKU: refused
            order(5, (b.id, 1), (a.id, 1), (a.id, 2)),  # lines merged: a 3, b 1
            order(1, (a.id, 2), (b.id, 1)),  # the first order again, in the same batch
        ]
    )
    assert [_summary(answer) for answer in answers] == [
        (Outcome.SUCCEEDED, FailureReason.NONE, False),
        (Outcome.FAILED, FailureReason.INSUFFICIENT_STOCK, False),
        "InvalidCommand",
        (Outcome.FAILED, FailureReason.UNKNOWN_SKU, False),
        (Outcome.SUCCEEDED, FailureReason.NONE, False),
        (Outcome.SUCCEEDED, FailureReason.NONE, True),
    ]
    assert [inventory.sku(a.id).stock, inventory.sku(b.id).stock] == [0, 1]
    assert inventory.ledger_mismatches() == {}
    rows = outbox_rows(engine)
    assert [(topic, key) for topic, key, _ in rows] == [
        ("OnInventoryDeductSuccess", "1"),
        ("OnInventoryDeductFailed", "2"),
        ("OnInventoryDeductFailed", "4"),
        ("OnInventoryDeductSuccess", "5"),
    ]
    assert rows[3][2]["Sku"] == [
        {"Id": str(a.id), "Quantity": 3, "Stock": 0, "Threshold": 2},
        {"Id": str(b.id), "Quantity": 1, "Stock": 1, "Threshold": 2},
    ]


def test_a_redelivered_batch_changes_nothing(inventory: InventoryService, engine: Engine) -> None:
    (a,) = inventory.create_product(product_with(10)).skus
    batch = [order(i, (a.id, 1)) for i in range(1, 6)]
    first = inventory.deduct_batch(batch)
    rows = (count(engine, inbox), count(engine, outbox), count(engine, stock_ledger))

    again = inventory.deduct_batch(batch)

    assert [_summary(x)[:2] for x in again] == [_summary(x)[:2] for x in first]
    assert all(isinstance(x, OperationResult) and x.duplicate and x.event is None for x in again)
    assert (count(engine, inbox), count(engine, outbox), count(engine, stock_ledger)) == rows
    assert inventory.sku(a.id).stock == 5


def test_an_order_reverted_before_its_batch_is_refused(inventory: InventoryService) -> None:
    (a,) = inventory.create_product(product_with(10)).skus
    inventory.revert(RevertInventory(2))
    answers = inventory.deduct_batch([order(1, (a.id, 1)), order(2, (a.id, 1))])
    assert [_summary(x) for x in answers] == [
        (Outcome.SUCCEEDED, FailureReason.NONE, False),
        (Outcome.FAILED, FailureReason.ORDER_REVERTED, False),
    ]
    assert inventory.sku(a.id).stock == 9


def test_an_order_recorded_by_another_writer_meanwhile_fails_only_itself(
    inventory: InventoryService, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    (a,) = inventory.create_product(product_with(10)).skus
    inventory.deduct(order(2, (a.id, 4)))  # e.g. through the API on another replica
    # The batch's inbox read misses it, as if the other writer committed just after the read.
    monkeypatch.setattr(repositories.SqlInbox, "get_many", lambda self, ids, op: {})

    answers = inventory.deduct_batch(
        [order(1, (a.id, 1)), order(2, (a.id, 4)), order(3, (a.id, 1))]
    )

    assert [_summary(x) for x in answers] == [
        (Outcome.SUCCEEDED, FailureReason.NONE, False),
        (Outcome.SUCCEEDED, FailureReason.NONE, True),
        (Outcome.SUCCEEDED, FailureReason.NONE, False),
    ]
    assert inventory.sku(a.id).stock == 4
    assert count(engine, outbox) == 3
    assert inventory.ledger_mismatches() == {}


def test_overlapping_batches_at_once_decide_each_order_once(
    inventory: InventoryService, engine: Engine
) -> None:
    """Four threads, batches drawn from the same 120 orders on one hot SKU with stock for 100:
    every order is decided once, no oversell, whatever the interleaving."""
    hot, other = inventory.create_product(product_with(100, 10_000)).skus
    orders = [order(i, (hot.id, 1), (other.id, 1)) for i in range(1, 121)]
    start = threading.Barrier(4)

    def submit(offset: int) -> None:
        start.wait()
        for first in range(0, 120, 20):
            batch = orders[(first + offset * 7) % 120 :][:20]
            for _ in range(50):
                try:
                    inventory.deduct_batch(batch)
                    break
                except TransientError:  # a deadlock or a lock wait: the broker redelivers
                    continue

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(submit, range(4)))
    inventory.deduct_batch(orders)  # whatever a thread gave up on is decided now

    with engine.connect() as connection:
        outcomes = Counter(o for (o,) in connection.execute(select(inbox.c.outcome)))
    assert outcomes == {"SUCCEEDED": 100, "FAILED": 20}
    assert inventory.sku(hot.id).stock == 0
    assert inventory.sku(other.id).stock == 10_000 - 100
    assert count(engine, outbox) == 120
    assert inventory.ledger_mismatches() == {}


def _summary(answer: OperationResult | Exception) -> tuple[Outcome, FailureReason, bool] | str:
    if isinstance(answer, Exception):
        assert isinstance(answer, InvalidCommand), answer
        return type(answer).__name__
    return answer.outcome, answer.reason, answer.duplicate


def test_reverts_racing_bulk_deliveries_without_order_locks_leave_the_stock_restored(
    inventory: InventoryService, engine: Engine
) -> None:
    """Bulk deliveries take no order lock by default: the SKU row locks and the inbox key alone
    must keep a revert that races its order's batch correct, whichever commits first."""
    (sku,) = inventory.create_product(product_with(1000)).skus
    orders = [order(i, (sku.id, 2)) for i in range(1, 101)]
    start = threading.Barrier(2)

    def pay() -> None:
        start.wait()
        for first in range(0, 100, 10):
            batch = orders[first : first + 10]
            for _ in range(50):  # as Dapr redelivers a batch with an entry answered RETRY
                answers = retrying(inventory.deduct_batch, batch)
                if not any(isinstance(answer, Exception) for answer in answers):
                    break

    def cancel() -> None:
        start.wait()
        for command in orders:
            retrying(inventory.revert, RevertInventory(command.order_id))

    with ThreadPoolExecutor(2) as pair:
        for future in [pair.submit(pay), pair.submit(cancel)]:
            future.result()

    assert inventory.sku(sku.id).stock == 1000  # every order ended reverted
    assert inventory.ledger_mismatches() == {}
    for command in orders:
        outcomes = {r.operation.value: r.outcome for r in inventory.order_record(command.order_id)}
        assert outcomes["REVERT"] is Outcome.SUCCEEDED
        assert outcomes["DEDUCT"] in (Outcome.SUCCEEDED, Outcome.FAILED)  # never left preempted
