"""Read-only use cases: SKU detail, stock by code, threshold checks, an order's record."""

from __future__ import annotations

from collections.abc import Sequence

from product_service.application.ports import UnitOfWork
from product_service.application.results import ThresholdStatus
from product_service.domain.commands import require_id
from product_service.domain.errors import InvalidCommand, OrderNotFound, UnknownProduct, UnknownSku
from product_service.domain.limits import SKU_CODE_LENGTH
from product_service.domain.model import InboxRecord, Product, Sku

MAX_BATCH = 1000


def get_sku(sku_id: int, uow: UnitOfWork) -> Sku:
    require_id(sku_id, "SKU id")
    with uow:
        sku = uow.skus.get(sku_id)
    if sku is None:
        raise UnknownSku(f"SKU {sku_id} does not exist")
    return sku


def get_product(product_id: int, uow: UnitOfWork) -> Product:
    require_id(product_id, "product id")
    with uow:
        name = uow.products.name_of(product_id)
        skus = uow.skus.list_for_product(product_id)
    if name is None:
        raise UnknownProduct(f"product {product_id} does not exist")
    return Product(product_id, name, tuple(skus))


def stock_by_code(code: str, uow: UnitOfWork) -> Sku:
    if not code or len(code) > SKU_CODE_LENGTH:
        raise InvalidCommand(
            f"SKU code {code!r} must have 1 to {SKU_CODE_LENGTH} characters",
            code="INVALID_SKU_CODE",
        )
    with uow:
        sku = uow.skus.get_by_code(code)
    if sku is None:
        raise UnknownSku(f"SKU code {code!r} does not exist")
    return sku


def check_thresholds(sku_ids: Sequence[int], uow: UnitOfWork) -> list[ThresholdStatus]:
    """One status per requested id, in request order; unknown ids are reported, not raised."""
    if not sku_ids or len(sku_ids) > MAX_BATCH:
        raise InvalidCommand(
            f"a threshold check takes 1 to {MAX_BATCH} SKU ids", code="INVALID_BATCH"
        )
    for sku_id in sku_ids:
        require_id(sku_id, "SKU id")
    with uow:
        skus = uow.skus.get_many(sku_ids)
    return [
        ThresholdStatus.of(skus[i]) if i in skus else ThresholdStatus(i, False) for i in sku_ids
    ]


def order_record(order_id: int, uow: UnitOfWork) -> list[InboxRecord]:
    require_id(order_id, "order id")
    with uow:
        records = uow.inbox.list_for_order(order_id)
    if not records:
        raise OrderNotFound(f"order {order_id} has no recorded operation")
    return records


def ledger_mismatches(uow: UnitOfWork) -> dict[int, tuple[int, int]]:
    """SKUs whose ledger sum differs from their stock: {sku_id: (stock, ledger_sum)}."""
    with uow:
        stock = uow.skus.stock_levels()
        ledger = uow.ledger.balances()
    return {
        sku_id: (stock.get(sku_id, 0), ledger.get(sku_id, 0))
        for sku_id in stock.keys() | ledger.keys()
        if stock.get(sku_id, 0) != ledger.get(sku_id, 0)
    }
