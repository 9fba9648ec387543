"""Inbound records of the legacy bridge: go-micro broker messages from the Go order service
(contract/legacy_wire.py, proto/legacy/) to commands told in the legacy dialect.

A record is read as the Go consumer reads it: the value as JSON, Body from base64, decoded by
its Content-Type (protobuf, or its JSON mapping; none means JSON), then, in the v7 era, the
BaseEvent's event_type says what its payload is. A record of an event type that is not for
this service is `Ignored`; anything unreadable is a MalformedEvent (DROP, dead letter).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from product_service.contract import legacy_wire as wire
from product_service.contract.legacy.bare import events_pb2 as bare
from product_service.contract.legacy.v7 import events_pb2 as v7
from product_service.contract.legacy_wire import Era
from product_service.domain.commands import DeductInventory, OrderLine, RevertInventory
from product_service.domain.model import Dialect
from product_service.interfaces.messages import MalformedEvent

M = TypeVar("M", bound=Message)

LEGACY = Dialect.LEGACY
# Event types on the shared topics that mean "revert": our success as the v7 order service
# sends it back (the body unchanged), or as a fixed one would rename it.
_REJECTED_TYPES = frozenset({wire.DEDUCT_SUCCEEDED, wire.DEDUCT_REJECTED})
_EVENT_TYPE_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
MAX_EVENT_ID = 64  # it becomes an inbox message id and a dead letter's id


class Ignored(Exception):
    """A record of another event type on a topic the service shares: not for us (not an
    error: it is acknowledged and counted)."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"event type {event_type!r} is not for this service")
        self.event_type = event_type

    @property
    def label(self) -> str:
        """The event type as a metric label: only names (the wire may carry anything)."""
        return self.event_type if _EVENT_TYPE_LABEL.fullmatch(self.event_type) else "other"


@dataclass(frozen=True)
class LegacyRecord:
    header: dict[str, str]
    body: bytes

    @property
    def event_id(self) -> str:
        """The Event_id header (a uuid), or "" when missing or too long to be one."""
        event_id = self.header.get(wire.EVENT_ID, "")
        return event_id if len(event_id) <= MAX_EVENT_ID else ""

    @property
    def order_key(self) -> str:
        return self.header.get(wire.KEY, "")

    def message(self, message: M) -> M:
        """The Body as `message`, decoded as its Content-Type says."""
        content_type = self.header.get(wire.CONTENT_TYPE) or wire.DEFAULT_CONTENT_TYPE
        name = message.DESCRIPTOR.name
        try:
            if content_type in wire.PROTOBUF_TYPES:
                message.ParseFromString(self.body)
            elif content_type in wire.JSON_TYPES:
                json_format.Parse(self.body.decode(), message, ignore_unknown_fields=True)
            else:
                raise MalformedEvent(f"legacy record: unknown Content-Type {content_type!r}")
        except (DecodeError, json_format.ParseError, UnicodeDecodeError, ValueError) as exc:
            raise MalformedEvent(f"legacy record: Body is not a {name} ({exc})") from exc
        return message


def read_record(data: bytes) -> LegacyRecord:
    """The broker message of a record value: a JSON object with Header (strings) and Body."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedEvent(f"legacy record is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedEvent("legacy record is not a JSON object")
    header = document.get(wire.HEADER) or {}  # go-micro accepts a record without one
    if not isinstance(header, dict) or not all(isinstance(v, str) for v in header.values()):
        raise MalformedEvent("legacy record: Header is not an object of strings")
    body = document.get(wire.BODY)
    if not isinstance(body, str) or not body:
        raise MalformedEvent("legacy record has no Body")
    try:
        return LegacyRecord(header, base64.b64decode(body, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise MalformedEvent(f"legacy record: Body is not base64: {exc}") from exc


def traceparent_in(data: bytes) -> str | None:
    """The W3C trace context a record's Traceparent header carries, if it is readable."""
    try:
        return read_record(data).header.get(wire.TRACEPARENT) or None
    except MalformedEvent:
        return None


class LegacyReader:
    """One era's records to commands; `message_id` stands in for a record without Event_id."""

    def __init__(self, era: Era) -> None:
        self._era = era

    def payment(self, data: bytes, message_id: str) -> DeductInventory:
        record = read_record(data)
        message_id = record.event_id or message_id
        if self._era is Era.BARE:
            return _bare_payment(record.message(bare.OnPaymentSuccess()), message_id)
        payload = _payload(record, frozenset({wire.PAYMENT_SUCCEEDED}))
        return _v7_payment(_parsed(payload, v7.OnPaymentSuccess()), message_id)

    def rejected(self, data: bytes, message_id: str) -> RevertInventory:
        record = read_record(data)
        message_id = record.event_id or message_id
        if self._era is Era.BARE:
            order_id = record.message(bare.OnInventoryDeductSuccess()).OrderId
        else:
            payload = _payload(record, _REJECTED_TYPES)
            order_id = _parsed(payload, v7.OnInventoryDeductSuccess()).OrderId
        return RevertInventory(order_id, message_id, LEGACY)


def _payload(record: LegacyRecord, wanted: frozenset[str]) -> bytes:
    """The v7 BaseEvent's payload when its event type is one of `wanted`."""
    event = record.message(v7.BaseEvent())
    if not event.event_type:
        raise MalformedEvent("legacy record: BaseEvent has no event_type")
    if event.event_type not in wanted:
        raise Ignored(event.event_type)
    return event.payload


def _parsed(payload: bytes, message: M) -> M:
    try:
        message.ParseFromString(payload)
    except DecodeError as exc:
        name = message.DESCRIPTOR.name
        raise MalformedEvent(f"legacy record: payload is not a {name} ({exc})") from exc
    return message


def _v7_payment(message: v7.OnPaymentSuccess, message_id: str) -> DeductInventory:
    lines = tuple(OrderLine(d.sku_id, d.quantity, d.product_id) for d in message.OrderDetails)
    return DeductInventory(message.OrderId, lines, message_id, LEGACY)


def _bare_payment(message: bare.OnPaymentSuccess, message_id: str) -> DeductInventory:
    """A "product size" of the Go services is a SKU; product_num its quantity."""
    lines = tuple(
        OrderLine(item.product_size_id, item.product_num, item.product_id)
        for item in message.products
    )
    return DeductInventory(message.OrderId, lines, message_id, LEGACY)
