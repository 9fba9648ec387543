"""Outcome events, past tense. Each is published keyed by its order id."""

from __future__ import annotations

from dataclasses import dataclass

from product_service.domain.model import FailureReason


@dataclass(frozen=True)
class DeductedSku:
    sku_id: int
    quantity: int
    stock: int
    threshold: int


@dataclass(frozen=True)
class FailedLine:
    sku_id: int
    requested: int
    available: int
    reason: FailureReason


@dataclass(frozen=True)
class RevertedSku:
    sku_id: int
    quantity: int
    stock: int


@dataclass(frozen=True)
class InventoryDeducted:
    order_id: int
    skus: tuple[DeductedSku, ...]


@dataclass(frozen=True)
class InventoryDeductFailed:
    order_id: int
    reason: FailureReason
    lines: tuple[FailedLine, ...]


@dataclass(frozen=True)
class InventoryReverted:
    order_id: int
    skus: tuple[RevertedSku, ...]


OutcomeEvent = InventoryDeducted | InventoryDeductFailed | InventoryReverted
