"""The Go services' go-micro wire format (proto/legacy/, docs/migration.md): its two eras, their
topic names (the defaults of the PRODUCT_LEGACY_TOPIC_* settings) and the event types."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Era(enum.StrEnum):
    """Which Go order service this one talks to (PRODUCT_LEGACY_WIRE)."""

    V7 = "v7"  # order v7.0.0 and later: topics per service, a BaseEvent in every Body
    BARE = "bare"  # order up to v6.3.2: a topic per event, the event itself as the Body


@dataclass(frozen=True)
class LegacyTopics:
    payment_succeeded: str  # in: paid orders
    deduct_succeeded: str  # out: deductions
    deduct_refused: str  # out: refusals, on which the order service reverts the payment
    deduct_rejected: str  # in: our successes the order service sent back (compensation)


TOPICS_OF_ERA = {
    Era.V7: LegacyTopics("OrderEvent", "ProductEvent", "OrderEventDLQ", "ProductEventDLQ"),
    Era.BARE: LegacyTopics(
        "OnPaymentSuccess",
        "OnInventoryDeductSuccess",
        "OnPaymentSuccessDLQ",
        "OnInventoryDeductSuccessDLQ",
    ),
}

# Event types: BaseEvent.event_type and the Event-Type header.
PAYMENT_SUCCEEDED = "OnPaymentSuccess"
DEDUCT_SUCCEEDED = "OnInventoryDeductSuccess"
# go-micro's dead-letter convention appends this to topic and event type. The order service's
# dispatcher routes event type OnPaymentSuccessDLQ to its payment revert.
DLQ = "DLQ"
PAYMENT_REFUSED = PAYMENT_SUCCEEDED + DLQ
DEDUCT_REJECTED = DEDUCT_SUCCEEDED + DLQ
