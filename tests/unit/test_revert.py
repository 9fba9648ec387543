"""Reverting an order: give back exactly what its deduction took, once."""

from __future__ import annotations

from product_service.application.service import InventoryService
from product_service.domain.commands import RevertInventory
from product_service.domain.events import InventoryReverted
from product_service.domain.model import Dialect, LedgerKind, Operation, Outcome
from tests.factories import order, product_with
from tests.fakes import MemoryStore


def test_revert_restores_exactly_what_the_order_deducted(inventory: InventoryService) -> None:
    a, b = inventory.create_product(product_with(10, 10)).skus
    inventory.deduct(order(1, (a.id, 3), (b.id, 1)))
    inventory.deduct(order(2, (a.id, 2)))
    inventory.revert(RevertInventory(1))
    assert [inventory.sku(a.id).stock, inventory.sku(b.id).stock] == [8, 10]
    assert [inventory.sku(a.id).sales, inventory.sku(b.id).sales] == [2, 0]


def test_revert_writes_ledger_rows_and_publishes_what_it_gave_back(
    inventory: InventoryService, store: MemoryStore
) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    inventory.deduct(order(1, (sku.id, 3)))
    inventory.revert(RevertInventory(1))
    reverts = [
        (e.sku_id, e.delta, e.order_id) for e in store.state.ledger if e.kind is LedgerKind.REVERT
    ]
    assert reverts == [(sku.id, 3, 1)]
    event = store.state.outbox[-1]
    assert isinstance(event, InventoryReverted)
    assert [(s.sku_id, s.quantity, s.stock) for s in event.skus] == [(sku.id, 3, 10)]


def test_a_replayed_revert_changes_nothing(inventory: InventoryService, store: MemoryStore) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    inventory.deduct(order(1, (sku.id, 3)))
    inventory.revert(RevertInventory(1))
    events = len(store.state.outbox)
    again = inventory.revert(RevertInventory(1))
    assert again.duplicate
    assert inventory.sku(sku.id).stock == 10
    assert len(store.state.outbox) == events


def test_reverting_a_failed_order_gives_nothing_back(
    inventory: InventoryService, store: MemoryStore
) -> None:
    (sku,) = inventory.create_product(product_with(1)).skus
    inventory.deduct(order(1, (sku.id, 5)))
    result = inventory.revert(RevertInventory(1))
    assert result.outcome is Outcome.SUCCEEDED
    assert inventory.sku(sku.id).stock == 1
    assert store.state.outbox[-1] == InventoryReverted(1, ())


def test_a_revert_before_the_deduct_is_recorded_and_takes_the_deduct_slot(
    inventory: InventoryService, store: MemoryStore
) -> None:
    inventory.create_product(product_with(10))
    result = inventory.revert(RevertInventory(9, message_id="cancel"))
    assert result.outcome is Outcome.SUCCEEDED and not result.duplicate
    records = {r.operation: r.outcome for r in inventory.order_record(9)}
    assert records == {Operation.REVERT: Outcome.SUCCEEDED, Operation.DEDUCT: Outcome.PREEMPTED}
    assert store.state.outbox == [InventoryReverted(9, ())]


def test_a_revert_is_told_in_the_dialect_it_was_asked_in(
    inventory: InventoryService, store: MemoryStore
) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    inventory.deduct(order(1, (sku.id, 3)))
    inventory.revert(RevertInventory(1, "m-1", Dialect.LEGACY))
    assert store.state.outbox[-1].dialect is Dialect.LEGACY
