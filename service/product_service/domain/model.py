"""Inventory model: SKUs, order lines, ledger entries and the recorded outcome of an order."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


class SkuStatus(enum.StrEnum):
    ON_SALE = "ON_SALE"
    OFF_SALE = "OFF_SALE"


class Operation(enum.StrEnum):
    DEDUCT = "DEDUCT"
    REVERT = "REVERT"


class Outcome(enum.StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    # A revert arrived before the deduct: the deduct slot is taken so that the deduct is refused.
    PREEMPTED = "PREEMPTED"


class FailureReason(enum.StrEnum):
    NONE = "NONE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    SKU_OFF_SALE = "SKU_OFF_SALE"
    ORDER_REVERTED = "ORDER_REVERTED"
    PRODUCT_MISMATCH = "PRODUCT_MISMATCH"  # the line names a product the SKU is not part of


class Dialect(enum.StrEnum):
    """How an order's outcome is told: in the event contract, or in the format of the legacy
    system its request came from. It travels from the command to the outcome event; what a
    dialect means on the wire is the serializer's business, not the domain's."""

    CONTRACT = "CONTRACT"
    LEGACY = "LEGACY"


class LedgerKind(enum.StrEnum):
    INITIAL = "INITIAL"
    ADJUST = "ADJUST"
    DEDUCT = "DEDUCT"
    REVERT = "REVERT"


@dataclass(frozen=True)
class Sku:
    id: int
    product_id: int
    code: str
    price: Decimal
    stock: int
    warn_threshold: int
    sales: int = 0
    status: SkuStatus = SkuStatus.ON_SALE

    @property
    def below_threshold(self) -> bool:
        """The stock alert rule, the one place it is written: low at or below the threshold."""
        return self.stock <= self.warn_threshold

    def refusal_for(self, quantity: int, product_id: int = 0) -> FailureReason:
        """Why `quantity` units of product `product_id` (0: not given) cannot be deducted from
        this SKU, or NONE when they can."""
        if product_id not in (0, self.product_id):
            return FailureReason.PRODUCT_MISMATCH
        if self.status is not SkuStatus.ON_SALE:
            return FailureReason.SKU_OFF_SALE
        if self.stock < quantity:
            return FailureReason.INSUFFICIENT_STOCK
        return FailureReason.NONE


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    skus: tuple[Sku, ...] = ()


@dataclass(frozen=True)
class StockLedgerEntry:
    """One signed stock change. Summed per SKU, the ledger equals the SKU's stock."""

    sku_id: int
    delta: int
    kind: LedgerKind
    created_at: datetime
    order_id: int | None = None
    note: str = ""


@dataclass(frozen=True)
class InboxRecord:
    """The recorded outcome of one operation on one order; unique on (order_id, operation)."""

    order_id: int
    operation: Operation
    message_id: str
    outcome: Outcome
    reason: FailureReason
    created_at: datetime

    @property
    def is_settled(self) -> bool:
        return self.outcome in (Outcome.SUCCEEDED, Outcome.FAILED)
