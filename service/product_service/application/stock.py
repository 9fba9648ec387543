"""Catalog and stock maintenance: create a product with its SKUs, adjust a SKU's stock."""

from __future__ import annotations

from product_service.application.ports import Clock, UnitOfWork
from product_service.domain.commands import AdjustStock, CreateProduct
from product_service.domain.errors import (
    DuplicateSkuCode,
    InsufficientStock,
    StockOutOfRange,
    UnknownSku,
)
from product_service.domain.limits import MAX_UNITS
from product_service.domain.model import LedgerKind, Product, Sku, StockLedgerEntry


def create_product(command: CreateProduct, uow: UnitOfWork, clock: Clock) -> Product:
    command = command.validated(MAX_UNITS)
    with uow:
        for new in command.skus:
            if uow.skus.get_by_code(new.code) is not None:
                raise DuplicateSkuCode(f"SKU code {new.code!r} already exists")
        now = clock.now()
        product_id = uow.products.add(command.name, now)
        skus = tuple(uow.skus.add(product_id, new) for new in command.skus)
        uow.ledger.append(
            StockLedgerEntry(sku.id, sku.stock, LedgerKind.INITIAL, now, note="initial stock")
            for sku in skus
            if sku.stock
        )
        uow.commit()
    return Product(product_id, command.name, skus)


def adjust_stock(command: AdjustStock, uow: UnitOfWork, max_delta: int, clock: Clock) -> Sku:
    command = command.validated(max_delta)
    with uow:
        sku = uow.skus.get(command.sku_id)
        if sku is None:
            raise UnknownSku(f"SKU {command.sku_id} does not exist")
        if not uow.skus.try_adjust(command.sku_id, command.delta, MAX_UNITS):
            refusal = InsufficientStock if command.delta < 0 else StockOutOfRange
            raise refusal(
                f"SKU {command.sku_id}: stock {sku.stock} cannot change by {command.delta} "
                f"(it must stay within 0..{MAX_UNITS})"
            )
        uow.ledger.append(
            [
                StockLedgerEntry(
                    sku.id, command.delta, LedgerKind.ADJUST, clock.now(), note=command.reason
                )
            ]
        )
        adjusted = uow.skus.get(command.sku_id)
        uow.commit()
    assert adjusted is not None
    return adjusted
