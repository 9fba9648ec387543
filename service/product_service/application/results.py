"""What use cases return to interfaces."""

from __future__ import annotations

from dataclasses import dataclass

from product_service.domain.events import OutcomeEvent
from product_service.domain.model import FailureReason, InboxRecord, Outcome, Sku


@dataclass(frozen=True)
class OperationResult:
    """Outcome of a deduct or revert; `duplicate` means an earlier delivery already decided it."""

    order_id: int
    outcome: Outcome
    reason: FailureReason
    duplicate: bool
    event: OutcomeEvent | None = None

    @classmethod
    def duplicate_of(cls, record: InboxRecord) -> OperationResult:
        return cls(record.order_id, record.outcome, record.reason, duplicate=True)


@dataclass(frozen=True)
class ThresholdStatus:
    """A SKU's stock against its warn threshold; an unknown SKU is reported, not raised."""

    sku_id: int
    known: bool
    stock: int = 0
    threshold: int = 0
    below_threshold: bool = False

    @classmethod
    def of(cls, sku: Sku) -> ThresholdStatus:
        return cls(sku.id, True, sku.stock, sku.warn_threshold, sku.below_threshold)
