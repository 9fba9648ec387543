"""Factories: valid commands in one call; tests change only what they are about."""

from __future__ import annotations

import itertools
from decimal import Decimal

from product_service.domain.commands import CreateProduct, DeductInventory, NewSku, OrderLine

_codes = itertools.count(1)


def new_sku(stock: int = 10, threshold: int = 2, **overrides: object) -> NewSku:
    values: dict[str, object] = {
        "code": f"SKU-{next(_codes):05d}",
        "price": Decimal("9.99"),
        "stock": stock,
        "warn_threshold": threshold,
    }
    values.update(overrides)
    return NewSku(**values)  # type: ignore[arg-type]


def product_with(*stocks: int, name: str = "Test product") -> CreateProduct:
    return CreateProduct(name, tuple(new_sku(stock) for stock in stocks))


def order(order_id: int, *lines: tuple[int, int], message_id: str = "") -> DeductInventory:
    return DeductInventory(order_id, tuple(OrderLine(sku, qty) for sku, qty in lines), message_id)
