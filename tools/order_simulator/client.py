"""OrderSimulator: what the order service does, through its own Dapr sidecar's gRPC API."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from dapr.proto.runtime.v1.dapr_pb2_grpc import DaprStub
from dapr.proto.runtime.v1.pubsub_pb2 import PublishEventRequest

from order_simulator import topics
from order_simulator.received import Received, read_received
from product_service.contract.product.v1.product_service_pb2_grpc import ProductServiceStub

Line = tuple[int, int, int]  # (product_id, sku_id, quantity)


class HeaderInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Adds one metadata pair to every call: `dapr-app-id` makes the sidecar proxy the call to
    that app (service invocation); `dapr-api-token` is what a sidecar started with
    DAPR_API_TOKEN requires."""

    def __init__(self, name: str, value: str) -> None:
        self.pair = (name, value)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata = [*(details.metadata or ()), self.pair]
        return continuation(details._replace(metadata=metadata), request)


def payment_payload(order_id: int, lines: Sequence[Line]) -> dict[str, Any]:
    """OnPaymentSuccess in the original Go services' spelling.

    64-bit ids are written as JSON strings, as the protobuf JSON mapping does: daprd reads
    CloudEvent data as float64, so a JSON number above 2**53 would lose digits on the way.
    """
    return {
        "OrderId": str(order_id),
        "OrderDetails": [
            {"product_id": str(product_id), "sku_id": str(sku_id), "quantity": quantity}
            for product_id, sku_id, quantity in lines
        ],
    }


def success_payload(
    order_id: int, skus: Sequence[tuple[int, int] | Mapping[str, Any]]
) -> dict[str, Any]:
    """OnInventoryDeductSuccess from (sku_id, quantity) pairs or ready-made Sku entries."""
    entries = [
        dict(sku) if isinstance(sku, Mapping) else {"Id": str(sku[0]), "Quantity": sku[1]}
        for sku in skus
    ]
    return {"OrderId": str(order_id), "Sku": entries}


class OrderSimulator:
    def __init__(
        self,
        dapr_grpc_port: int,
        received_path: Path | str | None,
        pubsub: str = "pubsub",
        product_app_id: str = "product-service",
        host: str = "127.0.0.1",
        topic_suffix: str = "",
        api_token: str | None = None,
    ) -> None:
        self.pubsub = pubsub
        self.topics = topics.Topics(topic_suffix)
        self.received_path = Path(received_path) if received_path is not None else None
        self._channel = grpc.insecure_channel(f"{host}:{dapr_grpc_port}")
        # The sidecar's API answers only callers with its DAPR_API_TOKEN, when it has one.
        sidecar = (
            grpc.intercept_channel(self._channel, HeaderInterceptor("dapr-api-token", api_token))
            if api_token
            else self._channel
        )
        self._dapr = DaprStub(sidecar)  # type: ignore[no-untyped-call]
        proxied = grpc.intercept_channel(sidecar, HeaderInterceptor("dapr-app-id", product_app_id))
        self.product = ProductServiceStub(proxied)  # type: ignore[no-untyped-call]

    def __enter__(self) -> OrderSimulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def pay(self, order_id: int, lines: Sequence[Line]) -> None:
        """Publish OnPaymentSuccess keyed by the order id."""
        body = json.dumps(payment_payload(order_id, lines)).encode()
        self.publish_raw(topics.PAYMENT_SUCCESS, body, key=str(order_id))

    def reject_success(
        self, order_id: int, skus: Sequence[tuple[int, int] | Mapping[str, Any]]
    ) -> None:
        """Publish OnInventoryDeductSuccessDLQ: the order side refuses a deduction."""
        body = json.dumps(success_payload(order_id, skus)).encode()
        self.publish_raw(topics.DEDUCT_SUCCESS_DLQ, body, key=str(order_id))

    def publish_raw(
        self,
        topic: str,
        data: bytes,
        key: str | None,
        content_type: str = "application/json",
        metadata: Mapping[str, str] | None = None,
        timeout: float = 10,
    ) -> None:
        """Publish bytes as they are (also malformed ones) through the sidecar.

        Contract topic names are mapped to this run's names on the broker.
        """
        meta = dict(metadata or {})
        if key is not None:
            meta["partitionKey"] = key
        request = PublishEventRequest(
            pubsub_name=self.pubsub,
            topic=self.topics.wire(topic),
            data=data,
            data_content_type=content_type,
            metadata=meta,
        )
        self._dapr.PublishEvent(request, timeout=timeout)

    def received(
        self, order_id: int | str | None = None, topic: str | None = None
    ) -> list[Received]:
        if self.received_path is None:
            raise RuntimeError("this client has no received file (no subscriber app behind it)")
        return [
            r
            for r in read_received(self.received_path)
            if (order_id is None or r.order_id == str(order_id))
            and (topic is None or r.topic == topic)
        ]

    def wait_for(
        self,
        order_id: int | str,
        topic: str | None = None,
        count: int = 1,
        timeout: float = 30,
    ) -> list[Received]:
        """At least `count` events of the order (and topic) in arrival order, or TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.received(order_id, topic)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                seen = [(r.topic, r.id) for r in self.received(order_id)]
                raise TimeoutError(
                    f"order {order_id}: {len(found)} of {count} events on {topic or 'any topic'} "
                    f"after {timeout}s; received for this order: {seen}"
                )
            time.sleep(0.05)
