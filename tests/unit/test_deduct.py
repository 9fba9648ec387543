"""Deducting a paid order: all lines or none, once per order."""

from __future__ import annotations

import pytest

from product_service.application.service import InventoryService
from product_service.domain.commands import (
    AdjustStock,
    CreateProduct,
    DeductInventory,
    OrderLimits,
    OrderLine,
    RevertInventory,
)
from product_service.domain.errors import InvalidCommand
from product_service.domain.events import InventoryDeducted, InventoryDeductFailed
from product_service.domain.model import Dialect, FailureReason, LedgerKind, Outcome, SkuStatus
from tests.factories import new_sku, order, product_with
from tests.fakes import MemoryStore


def stock_of(inventory: InventoryService, *sku_ids: int) -> list[int]:
    return [inventory.sku(sku_id).stock for sku_id in sku_ids]


def test_deducts_every_line_of_a_paid_order(inventory: InventoryService) -> None:
    a, b = inventory.create_product(product_with(10, 5)).skus
    result = inventory.deduct(order(1, (a.id, 3), (b.id, 5)))
    assert result.outcome is Outcome.SUCCEEDED and not result.duplicate
    assert stock_of(inventory, a.id, b.id) == [7, 0]
    assert [inventory.sku(a.id).sales, inventory.sku(b.id).sales] == [3, 5]


def test_success_event_carries_remaining_stock_and_threshold(
    inventory: InventoryService, store: MemoryStore
) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    inventory.deduct(order(1, (sku.id, 4)))
    (event,) = store.state.outbox
    assert isinstance(event, InventoryDeducted)
    assert event.order_id == 1
    assert [(s.sku_id, s.quantity, s.stock, s.threshold) for s in event.skus] == [(sku.id, 4, 6, 2)]


def test_deducts_nothing_when_one_line_lacks_stock(
    inventory: InventoryService, store: MemoryStore
) -> None:
    a, b, c = inventory.create_product(product_with(10, 1, 10)).skus
    result = inventory.deduct(order(1, (a.id, 1), (b.id, 2), (c.id, 1)))
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.INSUFFICIENT_STOCK)
    assert stock_of(inventory, a.id, b.id, c.id) == [10, 1, 10]
    (event,) = store.state.outbox
    assert isinstance(event, InventoryDeductFailed)
    assert [(line.sku_id, line.requested, line.available, line.reason) for line in event.lines] == [
        (a.id, 1, 10, FailureReason.NONE),
        (b.id, 2, 1, FailureReason.INSUFFICIENT_STOCK),
        (c.id, 1, 10, FailureReason.NONE),
    ]


def test_unknown_sku_fails_the_order_and_records_only_the_outcome(
    inventory: InventoryService, store: MemoryStore
) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    ledger_before = list(store.state.ledger)
    result = inventory.deduct(order(1, (sku.id, 1), (999, 1)))
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.UNKNOWN_SKU)
    assert stock_of(inventory, sku.id) == [10]
    assert store.state.ledger == ledger_before
    assert [type(e) for e in store.state.outbox] == [InventoryDeductFailed]


def test_off_sale_sku_fails_the_order(inventory: InventoryService) -> None:
    off_sale = CreateProduct("Retired", (new_sku(5, status=SkuStatus.OFF_SALE),))
    (sku,) = inventory.create_product(off_sale).skus
    result = inventory.deduct(order(1, (sku.id, 1)))
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.SKU_OFF_SALE)
    assert stock_of(inventory, sku.id) == [5]


def test_a_line_under_another_product_fails_the_order(inventory: InventoryService) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    other = inventory.create_product(product_with(10))
    wrong = DeductInventory(1, (OrderLine(sku.id, 1, product_id=other.id),))
    result = inventory.deduct(wrong)
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.PRODUCT_MISMATCH)
    right = DeductInventory(2, (OrderLine(sku.id, 1, product_id=sku.product_id),))
    assert inventory.deduct(right).outcome is Outcome.SUCCEEDED
    assert stock_of(inventory, sku.id) == [9]


def test_merged_lines_keep_the_product_they_name() -> None:
    command = DeductInventory(1, (OrderLine(5, 2, product_id=7), OrderLine(5, 3), OrderLine(4, 1)))
    assert command.validated(OrderLimits()).lines == (OrderLine(4, 1), OrderLine(5, 5, 7))


def test_validation_keeps_the_dialect_the_outcome_is_told_in() -> None:
    command = DeductInventory(1, (OrderLine(5, 2), OrderLine(5, 1)), "m", Dialect.LEGACY)
    assert command.validated(OrderLimits()).dialect is Dialect.LEGACY


def test_a_refusal_after_a_revert_is_told_in_the_payments_dialect(
    inventory: InventoryService, store: MemoryStore
) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    inventory.revert(RevertInventory(5))
    legacy = DeductInventory(5, (OrderLine(sku.id, 1),), "m", Dialect.LEGACY)
    inventory.deduct(legacy)
    assert [type(e).__name__ for e in store.state.outbox][-1] == "InventoryDeductFailed"
    assert store.state.outbox[-1].dialect is Dialect.LEGACY


def test_duplicate_delivery_changes_nothing_and_reports_the_first_outcome(
    inventory: InventoryService, store: MemoryStore
) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    inventory.deduct(order(1, (sku.id, 4), message_id="m1"))
    again = inventory.deduct(order(1, (sku.id, 4), message_id="m2"))
    assert again.duplicate and again.outcome is Outcome.SUCCEEDED
    assert stock_of(inventory, sku.id) == [6]
    assert len(store.state.outbox) == 1
    assert inventory.order_record(1)[0].message_id == "m1"


def test_a_failed_order_stays_failed_when_redelivered_after_a_restock(
    inventory: InventoryService,
) -> None:
    (sku,) = inventory.create_product(product_with(1)).skus
    inventory.deduct(order(1, (sku.id, 2)))
    inventory.adjust(AdjustStock(sku.id, 10, "restock"))
    again = inventory.deduct(order(1, (sku.id, 2)))
    assert again.duplicate and again.outcome is Outcome.FAILED
    assert stock_of(inventory, sku.id) == [11]


def test_lines_for_the_same_sku_are_merged(inventory: InventoryService, store: MemoryStore) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    inventory.deduct(order(1, (sku.id, 2), (sku.id, 3)))
    assert stock_of(inventory, sku.id) == [5]
    (event,) = store.state.outbox
    assert [(s.sku_id, s.quantity) for s in event.skus] == [(sku.id, 5)]  # type: ignore[union-attr]


def test_writes_one_ledger_row_per_deducted_sku(
    inventory: InventoryService, store: MemoryStore
) -> None:
    a, b = inventory.create_product(product_with(10, 10)).skus
    inventory.deduct(order(7, (b.id, 2), (a.id, 1)))
    deductions = [
        (e.sku_id, e.delta, e.order_id) for e in store.state.ledger if e.kind is LedgerKind.DEDUCT
    ]
    assert deductions == [(a.id, -1, 7), (b.id, -2, 7)]


def test_a_deduct_after_a_revert_is_refused_with_order_reverted(
    inventory: InventoryService, store: MemoryStore
) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    inventory.revert(RevertInventory(5))
    result = inventory.deduct(order(5, (sku.id, 1)))
    assert (result.outcome, result.reason, result.duplicate) == (
        Outcome.FAILED,
        FailureReason.ORDER_REVERTED,
        False,
    )
    assert stock_of(inventory, sku.id) == [10]
    failed = store.state.outbox[-1]
    assert isinstance(failed, InventoryDeductFailed)
    assert [(line.requested, line.reason) for line in failed.lines] == [
        (1, FailureReason.ORDER_REVERTED)
    ]


def test_a_refused_deduct_is_itself_idempotent(
    inventory: InventoryService, store: MemoryStore
) -> None:
    (sku,) = inventory.create_product(product_with(10)).skus
    inventory.revert(RevertInventory(5))
    inventory.deduct(order(5, (sku.id, 1)))
    events = len(store.state.outbox)
    again = inventory.deduct(order(5, (sku.id, 1)))
    assert again.duplicate and again.reason is FailureReason.ORDER_REVERTED
    assert len(store.state.outbox) == events


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (DeductInventory(1, ()), "EMPTY_ORDER"),
        (DeductInventory(1, tuple(OrderLine(i, 1) for i in range(1, 7))), "TOO_MANY_LINES"),
        (DeductInventory(1, (OrderLine(1, 0),)), "INVALID_QUANTITY"),
        (DeductInventory(1, (OrderLine(1, -3),)), "INVALID_QUANTITY"),
        (DeductInventory(1, (OrderLine(1, 101),)), "QUANTITY_TOO_LARGE"),
        (DeductInventory(1, (OrderLine(1, 60), OrderLine(1, 60))), "QUANTITY_TOO_LARGE"),
        (DeductInventory(0, (OrderLine(1, 1),)), "INVALID_ID"),
        (DeductInventory(-4, (OrderLine(1, 1),)), "INVALID_ID"),
        (DeductInventory(2**63, (OrderLine(1, 1),)), "INVALID_ID"),
        (DeductInventory(1, (OrderLine(0, 1),)), "INVALID_ID"),
        (DeductInventory(1, (OrderLine(1, True),)), "INVALID_QUANTITY"),  # type: ignore[arg-type]
        (DeductInventory(1, (OrderLine(1, 1, product_id=-7),)), "INVALID_ID"),
        (DeductInventory(1, (OrderLine(1, 1, 7), OrderLine(1, 1, 8))), "CONFLICTING_PRODUCT"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_writes_nothing(
    inventory: InventoryService, store: MemoryStore, command: DeductInventory, code: str
) -> None:
    inventory.create_product(product_with(10))
    commits = store.commits
    with pytest.raises(InvalidCommand) as raised:
        inventory.deduct(command)
    assert raised.value.code == code
    assert store.commits == commits
    assert store.state.inbox == {}
