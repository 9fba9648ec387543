"""What use cases return to interfaces."""

from __future__ import annotations

from dataclasses import dataclass

from product_service.domain.events import OutcomeEvent
from product_service.domain.model import FailureReason, InboxRecord, Outcome


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
    sku_id: int
    known: bool
    stock: int = 0
    threshold: int = 0

    @property
    def below_threshold(self) -> bool:
        return self.known and self.stock <= self.threshold
