"""Creating products and adjusting stock: every change lands in the ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest

from product_service.application.service import InventoryService
from product_service.domain.commands import AdjustStock, CreateProduct
from product_service.domain.errors import (
    DuplicateSkuCode,
    InsufficientStock,
    InvalidCommand,
    StockOutOfRange,
    UnknownSku,
)
from product_service.domain.limits import MAX_UNITS
from product_service.domain.model import LedgerKind
from tests.factories import new_sku, product_with
from tests.fakes import MemoryStore


def test_creating_a_product_records_initial_stock_in_the_ledger(
    inventory: InventoryService, store: MemoryStore
) -> None:
    product = inventory.create_product(product_with(10, 0, name="Socks"))
    assert inventory.product(product.id).name == "Socks"
    assert [s.stock for s in product.skus] == [10, 0]
    assert [(e.sku_id, e.delta, e.kind) for e in store.state.ledger] == [
        (product.skus[0].id, 10, LedgerKind.INITIAL)
    ]


def test_creating_a_product_refuses_an_existing_sku_code(inventory: InventoryService) -> None:
    inventory.create_product(CreateProduct("A", (new_sku(code="DUP-1"),)))
    with pytest.raises(DuplicateSkuCode):
        inventory.create_product(CreateProduct("B", (new_sku(code="DUP-1"),)))


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (CreateProduct("", (new_sku(),)), "INVALID_NAME"),
        (CreateProduct("P", ()), "NO_SKUS"),
        (CreateProduct("P", (new_sku(code="X"), new_sku(code="X"))), "DUPLICATE_SKU_CODE"),
        (CreateProduct("P", (new_sku(code=""),)), "INVALID_SKU_CODE"),
        (CreateProduct("P", (new_sku(price=Decimal("1.999")),)), "INVALID_PRICE"),
        (CreateProduct("P", (new_sku(price=Decimal("-1")),)), "INVALID_PRICE"),
        (CreateProduct("P", (new_sku(price=Decimal("NaN")),)), "INVALID_PRICE"),
        (CreateProduct("P", (new_sku(price=Decimal("10000000000")),)), "INVALID_PRICE"),
        (CreateProduct("P", (new_sku(stock=-1),)), "INVALID_STOCK"),
        (CreateProduct("P", (new_sku(threshold=-1),)), "INVALID_THRESHOLD"),
    ],
)
def test_an_invalid_product_is_refused_and_nothing_is_written(
    inventory: InventoryService, store: MemoryStore, command: CreateProduct, code: str
) -> None:
    with pytest.raises(InvalidCommand) as raised:
        inventory.create_product(command)
    assert raised.value.code == code
    assert store.commits == 0


def test_a_restock_adds_stock_and_a_ledger_row_with_its_reason(
    inventory: InventoryService, store: MemoryStore
) -> None:
    (sku,) = inventory.create_product(product_with(3)).skus
    adjusted = inventory.adjust(AdjustStock(sku.id, 7, "  supplier delivery  "))
    assert adjusted.stock == 10
    last = store.state.ledger[-1]
    assert (last.delta, last.kind, last.note) == (7, LedgerKind.ADJUST, "supplier delivery")


def test_a_correction_cannot_take_stock_below_zero(inventory: InventoryService) -> None:
    (sku,) = inventory.create_product(product_with(3)).skus
    with pytest.raises(InsufficientStock):
        inventory.adjust(AdjustStock(sku.id, -4, "count"))
    assert inventory.adjust(AdjustStock(sku.id, -3, "count")).stock == 0


def test_a_restock_beyond_the_largest_stock_is_out_of_range(inventory: InventoryService) -> None:
    (sku,) = inventory.create_product(product_with(MAX_UNITS - 5)).skus
    with pytest.raises(StockOutOfRange):
        inventory.adjust(AdjustStock(sku.id, 6, "delivery"))
    assert inventory.sku(sku.id).stock == MAX_UNITS - 5


def test_adjusting_an_unknown_sku_is_an_error(inventory: InventoryService) -> None:
    with pytest.raises(UnknownSku):
        inventory.adjust(AdjustStock(12345, 1, "restock"))


@pytest.mark.parametrize(
    ("delta", "reason", "code"),
    [
        (0, "x", "INVALID_DELTA"),
        (1001, "x", "QUANTITY_TOO_LARGE"),
        (-1001, "x", "QUANTITY_TOO_LARGE"),
        (5, "   ", "MISSING_REASON"),
        (5, "r" * 256, "MISSING_REASON"),
    ],
)
def test_an_invalid_adjustment_is_refused(
    inventory: InventoryService, store: MemoryStore, delta: int, reason: str, code: str
) -> None:
    (sku,) = inventory.create_product(product_with(3)).skus
    commits = store.commits
    with pytest.raises(InvalidCommand) as raised:
        inventory.adjust(AdjustStock(sku.id, delta, reason))
    assert raised.value.code == code
    assert store.commits == commits
