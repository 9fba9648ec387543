"""Outcome events, past tense. Each is published keyed by its order id, under its own id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from product_service.domain.model import Dialect, FailureReason

# The namespace of every event id (in outbox rows, sent as CloudEvent ids): never change it.
EVENT_ID_NAMESPACE = uuid.UUID("5f0c8a4e-2d4b-4c1e-9a55-7d3f6e1b2c90")


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
    product_id: int = 0  # as the order named it (0: not given)


@dataclass(frozen=True)
class RevertedSku:
    sku_id: int
    quantity: int
    stock: int


@dataclass(frozen=True)
class _OrderOutcome:
    """An order has at most one outcome of each kind, so the event id is derived from the kind
    and the order, once, when the event is made: the outbox row and the relay's notice carry
    the same id, and a re-sent event keeps its CloudEvent id."""

    order_id: int
    event_id: str = field(init=False, repr=False, compare=False)
    dialect: Dialect = field(default=Dialect.CONTRACT, kw_only=True)  # the command's

    def __post_init__(self) -> None:
        kind = type(self).__name__  # part of every stored id: renaming a class changes them
        event_id = uuid.uuid5(EVENT_ID_NAMESPACE, f"{kind}:{self.order_id}")
        object.__setattr__(self, "event_id", str(event_id))


@dataclass(frozen=True)
class InventoryDeducted(_OrderOutcome):
    skus: tuple[DeductedSku, ...]


@dataclass(frozen=True)
class InventoryDeductFailed(_OrderOutcome):
    reason: FailureReason
    lines: tuple[FailedLine, ...]


@dataclass(frozen=True)
class InventoryReverted(_OrderOutcome):
    skus: tuple[RevertedSku, ...]


OutcomeEvent = InventoryDeducted | InventoryDeductFailed | InventoryReverted
