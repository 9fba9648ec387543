"""Records as the Go order service writes them (go-micro broker messages), built with the
protobuf classes of proto/legacy/, for the tests of the legacy bridge."""

from __future__ import annotations

import base64
import json

from google.protobuf import json_format

from product_service.contract.legacy.bare import events_pb2 as bare
from product_service.contract.legacy.v7 import events_pb2 as v7

MILLIS = 1_796_292_000_123
PROTOBUF, JSON = "application/grpc+proto", "application/json"


def record(body: bytes, order_id: int = 0, event_id: str = "", **header: str) -> bytes:
    """A Kafka record value: the broker message JSON with the Go services' headers."""
    headers = {
        "Content-Type": PROTOBUF,
        "Micro-Topic": "OrderEvent",
        "Event-Type": "OnPaymentSuccess",
        "Pkey": str(order_id),
        "Event_id": event_id or f"go-event-{order_id}",
        "Timestamp": str(MILLIS),
        "Source": "go.micro.service.order",
        "Schema_version": "v7.0.0",
    }
    headers.update(header)
    message = {"Header": headers, "Body": base64.b64encode(body).decode()}
    return json.dumps(message).encode()


def v7_payment(order_id: int, *lines: tuple[int, int], product_id: int = 0) -> v7.OnPaymentSuccess:
    details = [v7.OrderDetail(product_id=product_id, sku_id=s, quantity=q) for s, q in lines]
    return v7.OnPaymentSuccess(OrderId=order_id, OrderDetails=details)


def base_event(event_type: str, payload: bytes) -> v7.BaseEvent:
    return v7.BaseEvent(timestamp=MILLIS, event_type=event_type, payload=payload)


def v7_record(order_id: int, *lines: tuple[int, int], product_id: int = 0) -> bytes:
    """A paid order on OrderEvent, protobuf-encoded, as order v7.0.0 publishes it (product id
    0: none named, any SKU's product will do)."""
    payload = v7_payment(order_id, *lines, product_id=product_id).SerializeToString()
    return record(base_event("OnPaymentSuccess", payload).SerializeToString(), order_id)


def v7_json_record(order_id: int, *lines: tuple[int, int], product_id: int = 0) -> bytes:
    """The same under Content-Type application/json: the BaseEvent's protobuf JSON mapping."""
    paid = v7_payment(order_id, *lines, product_id=product_id)
    event = base_event("OnPaymentSuccess", paid.SerializeToString())
    body = json_format.MessageToJson(event, preserving_proto_field_name=True).encode()
    return record(body, order_id, **{"Content-Type": JSON})


def v7_sent_back(order_id: int, *skus: tuple[int, int]) -> bytes:
    """Our success as order v7.0.0 republishes it on ProductEventDLQ when it cannot accept it:
    the body unchanged, Event-Type built from a header it never has (Event_type) + "DLQ"."""
    success = v7.OnInventoryDeductSuccess(
        OrderId=order_id, Sku=[v7.SkuInfo(Id=s, Quantity=q, Stock=1) for s, q in skus]
    )
    body = base_event("OnInventoryDeductSuccess", success.SerializeToString()).SerializeToString()
    return record(
        body,
        order_id,
        f"our-event-{order_id}",
        **{"Micro-Topic": "ProductEventDLQ", "Event-Type": "DLQ", "x-error": "order cancelled"},
    )


def bare_record(order_id: int, *lines: tuple[int, int], product_id: int = 0) -> bytes:
    """A paid order on OnPaymentSuccess as order v6.3.2 publishes it: the event as the Body."""
    items = [
        bare.ProductInventoryItem(product_id=product_id, product_num=q, product_size_id=s)
        for s, q in lines
    ]
    body = bare.OnPaymentSuccess(OrderId=order_id, products=items).SerializeToString()
    return record(body, order_id, **{"Micro-Topic": "OnPaymentSuccess", "Event-Type": ""})
