"""The event contract on the wire: protobuf JSON mapping of proto/product/v1/events.proto."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from product_service.contract.product.v1 import events_pb2 as pb
from product_service.domain.commands import DeductInventory, OrderLine, RevertInventory
from product_service.domain.errors import InvalidCommand
from product_service.domain.events import (
    InventoryDeducted,
    InventoryDeductFailed,
    OutcomeEvent,
)

M = TypeVar("M", bound=Message)

# Event ids are derived from (event type, order id): a re-sent event keeps its CloudEvent id.
EVENT_ID_NAMESPACE = uuid.UUID("5f0c8a4e-2d4b-4c1e-9a55-7d3f6e1b2c90")


class MalformedEvent(InvalidCommand):
    code = "MALFORMED_PAYLOAD"


@dataclass(frozen=True)
class Topics:
    payment_succeeded: str = "OnPaymentSuccess"
    deduct_succeeded: str = "OnInventoryDeductSuccess"
    deduct_failed: str = "OnInventoryDeductFailed"
    deduct_rejected: str = "OnInventoryDeductSuccessDLQ"
    reverted: str = "OnInventoryReverted"


@dataclass(frozen=True)
class OutboxMessage:
    event_id: str
    topic: str
    key: str
    payload: str
    trace_context: str | None = None


class EventSerializer:
    def __init__(self, topics: Topics) -> None:
        self._topics = topics

    def serialize(self, event: OutcomeEvent) -> OutboxMessage:
        payload = _plain_success(event)
        if payload is not None:
            topic = self._topics.deduct_succeeded
        else:
            topic, message = self._encode(event)
            payload = json_format.MessageToJson(
                message,
                preserving_proto_field_name=True,
                indent=None,
                always_print_fields_with_no_presence=True,
            )
        return OutboxMessage(self.event_id(event), topic, str(event.order_id), payload)

    @staticmethod
    def event_id(event: OutcomeEvent) -> str:
        return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{type(event).__name__}:{event.order_id}"))

    def _encode(self, event: OutcomeEvent) -> tuple[str, Message]:
        if isinstance(event, InventoryDeducted):
            skus = [
                pb.DeductedSku(
                    Id=s.sku_id, Quantity=s.quantity, Stock=s.stock, Threshold=s.threshold
                )
                for s in event.skus
            ]
            return self._topics.deduct_succeeded, pb.OnInventoryDeductSuccess(
                OrderId=event.order_id, Sku=skus
            )
        if isinstance(event, InventoryDeductFailed):
            lines = [
                pb.FailedLine(
                    SkuId=line.sku_id,
                    Requested=line.requested,
                    Available=line.available,
                    Reason=line.reason.value,
                )
                for line in event.lines
            ]
            return self._topics.deduct_failed, pb.OnInventoryDeductFailed(
                OrderId=event.order_id,
                Reason=event.reason.value,
                Lines=lines,
            )
        skus_back = [
            pb.RevertedSku(Id=s.sku_id, Quantity=s.quantity, Stock=s.stock) for s in event.skus
        ]
        return self._topics.reverted, pb.OnInventoryReverted(OrderId=event.order_id, Sku=skus_back)


def _plain_success(event: OutcomeEvent) -> str | None:
    """The success event, the hot one, as the document MessageToJson writes (int64 as strings,
    int32 as numbers) in a fifth of the time; tests/unit/test_event_codec.py compares them."""
    if not isinstance(event, InventoryDeducted) or not all(
        -_INT32 <= s.quantity < _INT32 and 0 <= s.stock < _UINT32 and 0 <= s.threshold < _UINT32
        for s in event.skus
    ):
        return None  # out of the proto's ranges: the protobuf encoder refuses it
    skus = [
        {"Id": str(s.sku_id), "Quantity": s.quantity, "Stock": s.stock, "Threshold": s.threshold}
        for s in event.skus
    ]
    return json.dumps({"OrderId": str(event.order_id), "Sku": skus})


def parse_payment(data: bytes | str, message_id: str = "") -> DeductInventory:
    """OnPaymentSuccess JSON to a deduct command (validated later by the use case)."""
    document = _json_object(data, pb.OnPaymentSuccess.DESCRIPTOR.name)
    plain = _plain_payment(document, message_id)
    if plain is not None:
        return plain
    message = _from_dict(document, pb.OnPaymentSuccess())
    lines = tuple(OrderLine(d.sku_id, d.quantity, d.product_id) for d in message.OrderDetails)
    return DeductInventory(message.OrderId, lines, message_id)


# The payment as the order service writes it, read without the protobuf JSON parser (a third
# of the cost of a bulk delivery's parsing): exactly these field names, integer or digit-string
# values in range. Anything else goes through the parser, which decides; tests/unit
# test_event_codec.py checks that both read every document the same way.
_PAYMENT_KEYS = frozenset({"OrderId", "OrderDetails"})
_LINE_KEYS = frozenset({"product_id", "sku_id", "quantity"})
_INT64, _INT32, _UINT32 = 2**63, 2**31, 2**32


def _plain_payment(document: dict[str, object], message_id: str) -> DeductInventory | None:
    details = document.get("OrderDetails")
    if document.keys() != _PAYMENT_KEYS or type(details) is not list:
        return None
    order_id = _plain_int(document["OrderId"], _INT64)
    if order_id is None:
        return None
    lines: list[OrderLine] = []
    for detail in details:
        if type(detail) is not dict or detail.keys() != _LINE_KEYS:
            return None
        sku_id = _plain_int(detail["sku_id"], _INT64)
        quantity = _plain_int(detail["quantity"], _INT32)
        product_id = _plain_int(detail["product_id"], _INT64)
        if sku_id is None or quantity is None or product_id is None:
            return None
        lines.append(OrderLine(sku_id, quantity, product_id))
    return DeductInventory(order_id, tuple(lines), message_id)


def _plain_int(value: object, bound: int) -> int | None:
    if type(value) is str and value.isascii() and value.isdigit():
        number = int(value)
    elif type(value) is int:
        number = value
    else:
        return None
    return number if -bound <= number < bound else None


def parse_deduct_rejected(data: bytes | str, message_id: str = "") -> RevertInventory:
    """OnInventoryDeductSuccessDLQ JSON (a success payload) to a revert command."""
    message = _parse(data, pb.OnInventoryDeductSuccess())
    return RevertInventory(message.OrderId, message_id)


def _parse(data: bytes | str, message: M) -> M:
    return _from_dict(_json_object(data, message.DESCRIPTOR.name), message)


def _json_object(data: bytes | str, name: str) -> dict[str, object]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"{name} payload is malformed: not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedEvent(
            f"{name} payload is malformed: must be a JSON object, not {type(document).__name__}"
        )
    return document


def _from_dict(document: dict[str, object], message: M) -> M:
    try:
        return json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"{message.DESCRIPTOR.name} payload is malformed: {exc}") from exc
