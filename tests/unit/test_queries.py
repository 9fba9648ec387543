"""Read-only use cases: SKU detail, stock by code, threshold checks, an order's record."""

from __future__ import annotations

import pytest

from product_service.application.service import InventoryService
from product_service.domain.commands import CreateProduct
from product_service.domain.errors import (
    InvalidCommand,
    OrderNotFound,
    UnknownProduct,
    UnknownSku,
)
from tests.factories import new_sku, order, product_with


def test_stock_by_code_finds_the_sku(inventory: InventoryService) -> None:
    (sku,) = inventory.create_product(CreateProduct("P", (new_sku(7, code="FIND-ME"),))).skus
    assert inventory.stock_by_code("FIND-ME") == sku


def test_unknown_sku_and_code_are_errors(inventory: InventoryService) -> None:
    with pytest.raises(UnknownSku):
        inventory.sku(404)
    with pytest.raises(UnknownSku):
        inventory.stock_by_code("NOPE")
    with pytest.raises(InvalidCommand):
        inventory.stock_by_code("")


def test_an_unknown_product_is_an_error(inventory: InventoryService) -> None:
    with pytest.raises(UnknownProduct):
        inventory.product(77)


def test_threshold_check_reports_each_sku_in_request_order_with_unknowns(
    inventory: InventoryService,
) -> None:
    low, fine = inventory.create_product(product_with(2, 50)).skus  # thresholds are 2
    statuses = inventory.check_thresholds([fine.id, 999, low.id])
    assert [(s.sku_id, s.known, s.below_threshold) for s in statuses] == [
        (fine.id, True, False),
        (999, False, False),
        (low.id, True, True),
    ]


@pytest.mark.parametrize("ids", [[], [0], list(range(1, 1002))])
def test_threshold_check_refuses_an_empty_oversized_or_malformed_batch(
    inventory: InventoryService, ids: list[int]
) -> None:
    with pytest.raises(InvalidCommand):
        inventory.check_thresholds(ids)


def test_order_record_shows_each_operation(inventory: InventoryService) -> None:
    (sku,) = inventory.create_product(product_with(5)).skus
    inventory.deduct(order(3, (sku.id, 1), message_id="msg-3"))
    (record,) = inventory.order_record(3)
    assert (record.operation.value, record.outcome.value, record.message_id) == (
        "DEDUCT",
        "SUCCEEDED",
        "msg-3",
    )
    with pytest.raises(OrderNotFound):
        inventory.order_record(4)
