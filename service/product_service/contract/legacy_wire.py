"""The Go services' go-micro wire format (proto/legacy/, docs/migration.md): its two eras, their
topic names (the defaults of the PRODUCT_LEGACY_TOPIC_* settings), the event types and the
broker message every record carries. Read by interfaces/legacy_messages.py, written by
infrastructure/legacy_codec.py."""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Mapping
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

# The broker message: a Kafka record's value is {"Header": {...}, "Body": "<base64>"}, go-micro's
# JSON codec of broker.Message (Body a Go []byte: standard base64 with padding).
HEADER, BODY = "Header", "Body"

# Header keys as the Go services write them (go-micro metadata; case matters).
CONTENT_TYPE = "Content-Type"
TOPIC = "Micro-Topic"
EVENT_TYPE = "Event-Type"
KEY = "Pkey"  # the order id: go-micro records have no Kafka key
EVENT_ID = "Event_id"
TIMESTAMP = "Timestamp"  # Unix milliseconds
SOURCE = "Source"
SCHEMA_VERSION = "Schema_version"
TRACEPARENT = "Traceparent"
ERROR = "x-error"  # set by the Go services' dead-letter handler: why the message came back

# How go-micro's gRPC server codecs read a Body, by Content-Type (plugins/v4/server/grpc
# codec.go); the Kafka broker plugin gives a record without one application/json.
PROTOBUF = "application/grpc+proto"
PROTOBUF_TYPES = frozenset(
    {
        PROTOBUF,
        "application/grpc",
        "application/proto",
        "application/protobuf",
        "application/octet-stream",
    }
)
JSON_TYPES = frozenset({"application/json", "application/grpc+json"})
DEFAULT_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class BrokerMessage:
    header: Mapping[str, str]
    body: bytes

    def to_json(self) -> str:
        """The record value as go-micro writes it (Go's encoding/json sorts map keys)."""
        return json.dumps(
            {HEADER: dict(sorted(self.header.items())), BODY: base64.b64encode(self.body).decode()},
            separators=(",", ":"),
        )
