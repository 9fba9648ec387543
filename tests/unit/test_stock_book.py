"""The all-or-nothing rule on its own: orders decided against locked stock, no unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from product_service.domain.commands import DeductInventory, OrderLine
from product_service.domain.events import (
    DeductedSku,
    FailedLine,
    InventoryDeducted,
    InventoryDeductFailed,
    InventoryReverted,
    RevertedSku,
)
from product_service.domain.model import Dialect, FailureReason, LedgerKind, Sku, SkuStatus
from product_service.domain.stock_book import StockBook

NOW = datetime(2026, 12, 1, tzinfo=UTC)
NONE, SHORT = FailureReason.NONE, FailureReason.INSUFFICIENT_STOCK


def book(*stocks: int, off_sale: int | None = None) -> StockBook:
    """SKUs 1, 2, ... with these stocks, warn threshold 2; `off_sale` names one off sale."""
    return StockBook(
        {
            n: Sku(n, 100, f"SKU-{n}", Decimal("1.00"), stock, 2, status=_status(n, off_sale))
            for n, stock in enumerate(stocks, start=1)
        }
    )


def _status(sku_id: int, off_sale: int | None) -> SkuStatus:
    return SkuStatus.OFF_SALE if sku_id == off_sale else SkuStatus.ON_SALE


def order(order_id: int, *lines: tuple[int, int]) -> DeductInventory:
    return DeductInventory(order_id, tuple(OrderLine(sku, qty) for sku, qty in lines))


def test_an_order_that_fits_takes_every_line_and_reports_remaining_stock_and_threshold() -> None:
    stock = book(10, 5)
    decided = stock.decide(order(1, (1, 3), (2, 5)))
    assert decided == InventoryDeducted(1, (DeductedSku(1, 3, 7, 2), DeductedSku(2, 5, 0, 2)))
    assert stock.taken == {1: 3, 2: 5}
    assert stock.stock_of(1) == 7


def test_one_short_line_takes_nothing_and_names_the_reason_of_every_line() -> None:
    stock = book(10, 1)
    decided = stock.decide(order(2, (1, 3), (2, 2)))
    assert decided == InventoryDeductFailed(
        2, SHORT, (FailedLine(1, 3, 10, NONE), FailedLine(2, 2, 1, SHORT))
    )
    assert stock.taken == {} and stock.ledger_entries(NOW) == []
    assert stock.stock_of(1) == 10


def test_unknown_and_off_sale_skus_are_refused_with_their_own_reasons() -> None:
    stock = book(10, 10, off_sale=2)
    decided = stock.decide(order(3, (1, 1), (2, 1), (9, 1)))
    assert isinstance(decided, InventoryDeductFailed)
    assert decided.reason is FailureReason.SKU_OFF_SALE
    assert [(line.reason, line.available) for line in decided.lines] == [
        (NONE, 10),
        (FailureReason.SKU_OFF_SALE, 10),
        (FailureReason.UNKNOWN_SKU, 0),
    ]
    assert stock.taken == {}


def test_a_line_naming_another_product_is_refused_with_its_own_reason() -> None:
    stock = book(10, 10)  # both SKUs are product 100's
    lines = (OrderLine(1, 1, product_id=100), OrderLine(2, 1, product_id=7))
    decided = stock.decide(DeductInventory(4, lines))
    assert decided == InventoryDeductFailed(
        4,
        FailureReason.PRODUCT_MISMATCH,
        (
            FailedLine(1, 1, 10, NONE, product_id=100),
            FailedLine(2, 1, 10, FailureReason.PRODUCT_MISMATCH, product_id=7),
        ),
    )
    assert stock.taken == {}


def test_a_line_without_a_product_id_is_served_whatever_the_product() -> None:
    stock = book(10)
    decided = stock.decide(DeductInventory(5, (OrderLine(1, 1, product_id=0),)))
    assert isinstance(decided, InventoryDeducted) and stock.taken == {1: 1}


def test_the_product_is_checked_before_the_stock() -> None:
    refused = book(0, off_sale=1).decide(DeductInventory(6, (OrderLine(1, 1, product_id=7),)))
    assert isinstance(refused, InventoryDeductFailed)
    assert refused.reason is FailureReason.PRODUCT_MISMATCH


def test_orders_are_decided_in_turn_so_a_later_one_sees_what_earlier_ones_took() -> None:
    stock = book(5)
    first, second, third = (stock.decide(order(n, (1, 2))) for n in (1, 2, 3))
    assert [type(e) for e in (first, second, third)] == [InventoryDeducted] * 2 + [
        InventoryDeductFailed
    ]
    assert isinstance(third, InventoryDeductFailed) and third.lines[0].available == 1
    assert stock.taken == {1: 4}
    entries = stock.ledger_entries(NOW)
    assert [(e.order_id, e.sku_id, e.delta, e.kind) for e in entries] == [
        (1, 1, -2, LedgerKind.DEDUCT),
        (2, 1, -2, LedgerKind.DEDUCT),
    ]


def test_an_order_already_reverted_is_refused_on_every_line_and_takes_nothing() -> None:
    stock = book(10, 10)
    refused = stock.refuse(order(4, (1, 1), (2, 1)), FailureReason.ORDER_REVERTED)
    assert refused.reason is FailureReason.ORDER_REVERTED
    assert {line.reason for line in refused.lines} == {FailureReason.ORDER_REVERTED}
    assert [line.available for line in refused.lines] == [10, 10]
    assert stock.taken == {}


def test_refusing_an_order_with_nothing_wrong_and_no_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="nothing to refuse"):
        book(10).refuse(order(5, (1, 1)))


def test_giving_back_returns_what_the_deduction_took_and_records_it_as_a_revert() -> None:
    stock = book(10, 5)
    stock.decide(order(1, (1, 3), (2, 5)))
    reverted = stock.give_back(1, {1: 3, 2: 5})
    assert reverted == InventoryReverted(1, (RevertedSku(1, 3, 10), RevertedSku(2, 5, 5)))
    assert stock.taken == {1: 0, 2: 0}
    assert stock.stock_of(1) == 10
    kinds = [(e.sku_id, e.delta, e.kind) for e in stock.ledger_entries(NOW)]
    assert kinds[2:] == [(1, 3, LedgerKind.REVERT), (2, 5, LedgerKind.REVERT)]


def test_giving_back_an_order_that_took_nothing_changes_nothing() -> None:
    stock = book(4)
    assert stock.give_back(7, {}) == InventoryReverted(7, ())
    assert stock.taken == {} and stock.ledger_entries(NOW) == []


def test_every_outcome_is_told_in_the_dialect_of_its_command() -> None:
    stock = book(5)
    legacy = Dialect.LEGACY
    served = stock.decide(DeductInventory(1, (OrderLine(1, 2),), dialect=legacy))
    refused = stock.decide(DeductInventory(2, (OrderLine(1, 9),), dialect=legacy))
    reverted = stock.give_back(1, {1: 2}, legacy)
    plain = stock.decide(order(3, (1, 1)))

    assert [served.dialect, refused.dialect, reverted.dialect] == [legacy] * 3
    assert plain.dialect is Dialect.CONTRACT
    assert served != InventoryDeducted(1, served.skus)  # the dialect is part of the event
    assert served.event_id == InventoryDeducted(1, served.skus).event_id  # but not of its id
