"""The use cases end to end on real databases: the rules of DESIGN.md section 4 hold in SQL."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from sqlalchemy import Engine, select

from product_service.application.results import OperationResult
from product_service.application.service import InventoryService
from product_service.bootstrap import Adapters, build_runtime
from product_service.domain.commands import DeductInventory, OrderLine, RevertInventory
from product_service.domain.model import FailureReason, Outcome
from product_service.infrastructure.db.tables import outbox
from product_service.infrastructure.settings import Settings
from tests.factories import order, product_with
from tests.integration.conftest import empty_tables
from tests.inventory_machine import InventoryMachine


def outbox_rows(engine: Engine) -> list[tuple[str, str, dict[str, object]]]:
    with engine.connect() as connection:
        rows = connection.execute(select(outbox).order_by(outbox.c.id)).all()
    return [(row.topic, row.message_key, json.loads(row.payload)) for row in rows]


def test_a_paid_order_commits_stock_ledger_inbox_and_outbox_together(
    inventory: InventoryService, engine: Engine
) -> None:
    a, b = inventory.create_product(product_with(10, 4)).skus
    result = inventory.deduct(order(1001, (a.id, 2), (b.id, 4), message_id="evt-1"))
    assert result.outcome is Outcome.SUCCEEDED
    assert [inventory.sku(a.id).stock, inventory.sku(b.id).stock] == [8, 0]
    assert outbox_rows(engine) == [
        (
            "OnInventoryDeductSuccess",
            "1001",
            {
                "OrderId": "1001",
                "Sku": [
                    {"Id": str(a.id), "Quantity": 2, "Stock": 8, "Threshold": 2},
                    {"Id": str(b.id), "Quantity": 4, "Stock": 0, "Threshold": 2},
                ],
            },
        ),
    ]
    assert inventory.ledger_mismatches() == {}


def test_one_short_line_fails_the_whole_order_in_sql(
    inventory: InventoryService, engine: Engine
) -> None:
    a, b, c = inventory.create_product(product_with(5, 1, 5)).skus
    result = inventory.deduct(order(7, (a.id, 1), (b.id, 2), (c.id, 1)))
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.INSUFFICIENT_STOCK)
    assert [inventory.sku(s.id).stock for s in (a, b, c)] == [5, 1, 5]
    ((topic, key, payload),) = outbox_rows(engine)
    assert (topic, key, payload["Reason"]) == ("OnInventoryDeductFailed", "7", "INSUFFICIENT_STOCK")


def test_a_line_under_another_product_is_refused_in_sql_alone_and_in_a_batch(
    inventory: InventoryService, engine: Engine
) -> None:
    (sku,) = inventory.create_product(product_with(5)).skus
    other = inventory.create_product(product_with(5))

    def under(product_id: int, order_id: int) -> DeductInventory:
        return DeductInventory(order_id, (OrderLine(sku.id, 2, product_id),))

    alone = inventory.deduct(under(other.id, 11))
    batch = inventory.deduct_batch([under(other.id, 12), under(sku.product_id, 13)])

    refused = (Outcome.FAILED, FailureReason.PRODUCT_MISMATCH)
    assert isinstance(batch[0], OperationResult) and isinstance(batch[1], OperationResult)
    assert [(r.outcome, r.reason) for r in (alone, batch[0])] == [refused, refused]
    assert batch[1].outcome is Outcome.SUCCEEDED
    assert inventory.sku(sku.id).stock == 3
    failed = [p for topic, _, p in outbox_rows(engine) if topic == "OnInventoryDeductFailed"]
    reasons = [(p["Reason"], p["Lines"][0]["Reason"]) for p in failed]  # type: ignore[index]
    assert reasons == [("PRODUCT_MISMATCH", "PRODUCT_MISMATCH")] * 2
    assert inventory.ledger_mismatches() == {}


def test_duplicates_and_revert_before_deduct_hold_in_sql(
    inventory: InventoryService, engine: Engine
) -> None:
    (sku,) = inventory.create_product(product_with(5)).skus
    inventory.deduct(order(1, (sku.id, 2)))
    assert inventory.deduct(order(1, (sku.id, 2))).duplicate
    inventory.revert(RevertInventory(1))
    assert inventory.revert(RevertInventory(1)).duplicate
    inventory.revert(RevertInventory(2))
    refused = inventory.deduct(order(2, (sku.id, 1)))
    assert refused.reason is FailureReason.ORDER_REVERTED and not refused.duplicate
    assert inventory.sku(sku.id).stock == 5
    topics = [topic for topic, _, _ in outbox_rows(engine)]
    assert topics == [
        "OnInventoryDeductSuccess",
        "OnInventoryReverted",
        "OnInventoryReverted",
        "OnInventoryDeductFailed",
    ]
    assert inventory.ledger_mismatches() == {}


def test_each_outbox_row_carries_the_id_of_the_event_the_relay_is_told_of(
    inventory: InventoryService, engine: Engine
) -> None:
    (sku,) = inventory.create_product(product_with(5)).skus
    results = [
        inventory.deduct(order(1, (sku.id, 2))),
        inventory.deduct_batch([order(2, (sku.id, 9))])[0],
        inventory.revert(RevertInventory(1)),
    ]
    told = [r.event.event_id for r in results if isinstance(r, OperationResult) and r.event]
    with engine.connect() as connection:
        stored = connection.execute(select(outbox.c.event_id).order_by(outbox.c.id)).scalars()
        assert list(stored) == told and len(set(told)) == 3


def test_ledger_reconciles_after_every_step_of_random_operations(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    database_settings = Settings(database_url=url, lock_store_name="")  # no sidecar

    def fresh_inventory() -> InventoryService:
        empty_tables(engine)
        return build_runtime(database_settings, Adapters(engine=engine)).inventory

    class DatabaseInventoryMachine(InventoryMachine):
        build = staticmethod(fresh_inventory)

    run_state_machine_as_test(
        DatabaseInventoryMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
