"""Repositories and the unit of work on real databases, each test once per dialect."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select, text

from product_service.application.errors import DuplicateOperation, StoreRejected, TransientError
from product_service.contract.topics import Topics
from product_service.domain.errors import DuplicateSkuCode
from product_service.domain.events import InventoryReverted, RevertedSku
from product_service.domain.model import (
    FailureReason,
    InboxRecord,
    LedgerKind,
    Operation,
    Outcome,
    StockLedgerEntry,
)
from product_service.infrastructure.db.engine import build_engine
from product_service.infrastructure.db.tables import outbox
from product_service.infrastructure.db.unit_of_work import SqlAlchemyUnitOfWork
from product_service.infrastructure.outbox_codec import EventSerializer
from tests.factories import new_sku
from tests.integration.conftest import MARIADB_URL, empty_tables

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def uow_for(engine: Engine) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(engine, EventSerializer(Topics()))


def add_sku(engine: Engine, stock: int = 10, **overrides: object) -> int:
    with uow_for(engine) as uow:
        product_id = uow.products.add("Product", NOW)
        sku = uow.skus.add(product_id, new_sku(stock, **overrides))
        uow.commit()
    return sku.id


def test_a_sku_round_trips_with_its_decimal_price(engine: Engine) -> None:
    sku_id = add_sku(engine, 7, code="ROUND-TRIP", price=Decimal("12.30"))
    with uow_for(engine) as uow:
        sku = uow.skus.get(sku_id)
        assert uow.skus.get_by_code("ROUND-TRIP") == sku
    assert sku is not None and (sku.stock, sku.price, sku.code) == (
        7,
        Decimal("12.30"),
        "ROUND-TRIP",
    )


def test_a_duplicate_sku_code_is_a_domain_error(engine: Engine) -> None:
    add_sku(engine, code="TAKEN")
    with pytest.raises(DuplicateSkuCode), uow_for(engine) as uow:
        uow.skus.add(uow.products.add("Other", NOW), new_sku(code="TAKEN"))


def test_locked_skus_are_read_in_id_order_and_deducted_in_one_statement(engine: Engine) -> None:
    first, second = add_sku(engine, 3), add_sku(engine, 9, code="SECOND")
    with uow_for(engine) as uow:
        locked = uow.skus.lock_many([second, first, second, 10**9])
        assert list(locked) == [first, second]  # ascending, each once, unknown ids absent
        uow.skus.take_many({first: 3, second: 4})
        uow.commit()
    with uow_for(engine) as uow:
        after = uow.skus.get_many([first, second])
    assert [(s.stock, s.sales) for s in after.values()] == [(0, 3), (5, 4)]


def test_negative_units_give_stock_back_in_the_same_statement(engine: Engine) -> None:
    sku_id = add_sku(engine, 5)
    with uow_for(engine) as uow:
        uow.skus.lock_many([sku_id])
        uow.skus.take_many({sku_id: 5})
        uow.commit()
    with uow_for(engine) as uow:
        uow.skus.lock_many([sku_id])
        uow.skus.take_many({sku_id: -2})  # unsigned MySQL columns must not refuse it
        uow.commit()
    with uow_for(engine) as uow:
        sku = uow.skus.get(sku_id)
    assert sku is not None and (sku.stock, sku.sales) == (2, 3)


def test_adjustments_stay_within_zero_and_the_maximum(engine: Engine) -> None:
    sku_id = add_sku(engine, 3)
    with uow_for(engine) as uow:
        assert (
            uow.skus.try_adjust(sku_id, -4, 100) is False
        )  # unsigned MySQL arithmetic must not error
        assert uow.skus.try_adjust(sku_id, 98, 100) is False
        assert uow.skus.try_adjust(sku_id, 97, 100) is True
        assert uow.skus.try_adjust(sku_id, -100, 100) is True
        uow.commit()
    with uow_for(engine) as uow:
        assert uow.skus.stock_levels()[sku_id] == 0


def test_leaving_without_commit_rolls_everything_back(engine: Engine) -> None:
    sku_id = add_sku(engine, 5)
    with pytest.raises(RuntimeError), uow_for(engine) as uow:
        uow.skus.lock_many([sku_id])
        uow.skus.take_many({sku_id: 5})
        uow.ledger.append([StockLedgerEntry(sku_id, -5, LedgerKind.DEDUCT, NOW, order_id=1)])
        uow.outbox.add(InventoryReverted(1, ()), NOW)
        raise RuntimeError("crash before commit")
    with uow_for(engine) as uow:
        assert uow.skus.stock_levels()[sku_id] == 5
        assert uow.ledger.deducted_by_order(1) == {}
        assert uow.execute(select(outbox)).all() == []


def test_the_inbox_refuses_a_second_record_of_the_same_operation(engine: Engine) -> None:
    record = InboxRecord(1, Operation.DEDUCT, "m1", Outcome.PENDING, FailureReason.NONE, NOW)
    with uow_for(engine) as uow:
        uow.inbox.add(record)
        uow.inbox.add(
            InboxRecord(1, Operation.REVERT, "m2", Outcome.SUCCEEDED, FailureReason.NONE, NOW)
        )
        uow.commit()
    with pytest.raises(DuplicateOperation), uow_for(engine) as uow:
        uow.inbox.add(record)


def test_an_inbox_transition_happens_only_from_the_expected_outcome(engine: Engine) -> None:
    pending = InboxRecord(2, Operation.DEDUCT, "m", Outcome.PENDING, FailureReason.NONE, NOW)
    done = InboxRecord(
        2, Operation.DEDUCT, "m", Outcome.FAILED, FailureReason.INSUFFICIENT_STOCK, NOW
    )
    with uow_for(engine) as uow:
        uow.inbox.add(pending)
        assert uow.inbox.transition(Outcome.PREEMPTED, done) is False
        assert uow.inbox.transition(Outcome.PENDING, done) is True
        uow.commit()
    with uow_for(engine) as uow:
        assert uow.inbox.get(2, Operation.DEDUCT) == done


def test_the_ledger_sums_an_orders_deductions_per_sku(engine: Engine) -> None:
    a, b = add_sku(engine), add_sku(engine)
    with uow_for(engine) as uow:
        uow.ledger.append(
            [
                StockLedgerEntry(a, -2, LedgerKind.DEDUCT, NOW, order_id=9),
                StockLedgerEntry(b, -1, LedgerKind.DEDUCT, NOW, order_id=9),
                StockLedgerEntry(a, -5, LedgerKind.DEDUCT, NOW, order_id=10),
                StockLedgerEntry(a, 4, LedgerKind.ADJUST, NOW, note="restock"),
            ]
        )
        assert uow.ledger.deducted_by_order(9) == {a: 2, b: 1}
        assert uow.ledger.balances() == {a: -3, b: -1}


def test_the_outbox_stores_the_serialized_event_keyed_by_order(engine: Engine) -> None:
    with uow_for(engine) as uow:
        uow.outbox.add(InventoryReverted(42, (RevertedSku(1, 2, 3),)), NOW)
        uow.commit()
    with uow_for(engine) as uow:
        (row,) = uow.execute(select(outbox)).all()
    assert (row.topic, row.message_key, row.published_at, row.attempts) == (
        "OnInventoryReverted",
        "42",
        None,
        0,
    )
    assert json.loads(row.payload) == {
        "OrderId": "42",
        "Sku": [{"Id": "1", "Quantity": 2, "Stock": 3}],
    }


def test_an_unreachable_database_is_a_transient_error() -> None:
    engine = build_engine("mysql+pymysql://nobody:nothing@127.0.0.1:1/none")
    with pytest.raises(TransientError, match="database unavailable"), uow_for(engine) as uow:
        uow.skus.get(1)


def test_a_statement_the_database_refuses_is_not_retried(engine: Engine) -> None:
    sku_id = add_sku(engine, 1)
    with pytest.raises(StoreRejected), uow_for(engine) as uow:
        uow.execute(text("UPDATE skus SET stock = -1 WHERE id = :id"), {"id": sku_id})
    with uow_for(engine) as uow:
        assert uow.skus.stock_levels()[sku_id] == 1


def test_a_lock_wait_timeout_on_mariadb_is_worth_a_retry(mariadb_engine: Engine) -> None:
    empty_tables(mariadb_engine)
    sku_id = add_sku(mariadb_engine, 5)
    impatient = build_engine(MARIADB_URL)  # its own pool: the session setting dies with it
    try:
        with uow_for(mariadb_engine) as holder:
            assert holder.skus.lock_many([sku_id])  # holds the row lock until the block ends
            with pytest.raises(TransientError, match="1205"), uow_for(impatient) as waiter:
                waiter.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
                waiter.skus.lock_many([sku_id])
    finally:
        impatient.dispose()
