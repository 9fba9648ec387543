"""The event contract's topic names (DESIGN.md section 6): the defaults of the settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    payment_succeeded: str = "OnPaymentSuccess"
    deduct_succeeded: str = "OnInventoryDeductSuccess"
    deduct_failed: str = "OnInventoryDeductFailed"
    deduct_rejected: str = "OnInventoryDeductSuccessDLQ"
    reverted: str = "OnInventoryReverted"
