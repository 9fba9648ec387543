"""Inbound messages: CloudEvent data in the protobuf JSON mapping of proto/product/v1/events.proto
to commands (validated later by the use cases)."""

from __future__ import annotations

import json
from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from product_service.contract.product.v1 import events_pb2 as pb
from product_service.contract.scalars import INT32_END, INT64_END
from product_service.domain.commands import DeductInventory, OrderLine, RevertInventory
from product_service.domain.errors import InvalidCommand

M = TypeVar("M", bound=Message)


class MalformedEvent(InvalidCommand):
    code = "MALFORMED_PAYLOAD"


def require_size(size: int, max_bytes: int) -> None:
    """InvalidCommand TOO_LARGE for a message or request above PRODUCT_MAX_MESSAGE_BYTES."""
    if size > max_bytes:
        raise InvalidCommand(
            f"{size} bytes, more than PRODUCT_MAX_MESSAGE_BYTES={max_bytes}", code="TOO_LARGE"
        )


def within_limit(data: bytes, max_bytes: int) -> bytes:
    """The data, checked before anything parses it."""
    require_size(len(data), max_bytes)
    return data


def parse_payment(data: bytes | str, message_id: str = "") -> DeductInventory:
    """OnPaymentSuccess JSON to a deduct command."""
    document = _json_object(data, pb.OnPaymentSuccess.DESCRIPTOR.name)
    plain = _plain_payment(document, message_id)
    if plain is not None:
        return plain
    message = _from_dict(document, pb.OnPaymentSuccess())
    lines = tuple(OrderLine(d.sku_id, d.quantity, d.product_id) for d in message.OrderDetails)
    return DeductInventory(message.OrderId, lines, message_id)


def parse_deduct_rejected(data: bytes | str, message_id: str = "") -> RevertInventory:
    """OnInventoryDeductSuccessDLQ JSON (a success payload) to a revert command."""
    message = _parse(data, pb.OnInventoryDeductSuccess())
    return RevertInventory(message.OrderId, message_id)


# The payment as the order service writes it, read without the protobuf JSON parser (a third
# of the cost of a bulk delivery's parsing): exactly these field names, integer or digit-string
# values in range. Anything else goes through the parser, which decides; tests/unit/
# test_messages.py checks that both read every document the same way.
_PAYMENT_KEYS = frozenset({"OrderId", "OrderDetails"})
_LINE_KEYS = frozenset({"product_id", "sku_id", "quantity"})


def _plain_payment(document: dict[str, object], message_id: str) -> DeductInventory | None:
    details = document.get("OrderDetails")
    if document.keys() != _PAYMENT_KEYS or type(details) is not list:
        return None
    order_id = _plain_int(document["OrderId"], INT64_END)
    if order_id is None:
        return None
    lines: list[OrderLine] = []
    for detail in details:
        if type(detail) is not dict or detail.keys() != _LINE_KEYS:
            return None
        sku_id = _plain_int(detail["sku_id"], INT64_END)
        quantity = _plain_int(detail["quantity"], INT32_END)
        product_id = _plain_int(detail["product_id"], INT64_END)
        if sku_id is None or quantity is None or product_id is None:
            return None
        lines.append(OrderLine(sku_id, quantity, product_id))
    return DeductInventory(order_id, tuple(lines), message_id)


def _plain_int(value: object, end: int) -> int | None:
    if type(value) is str and value.isascii() and value.isdigit():
        number = int(value)
    elif type(value) is int:
        number = value
    else:
        return None
    return number if -end <= number < end else None


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
