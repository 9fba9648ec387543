"""Publishes outbox messages through the sidecar, keyed by order id, with a stable event id."""

from __future__ import annotations

from grpc import RpcError
from opentelemetry.trace import SpanKind

from product_service.infrastructure.dapr.sidecar import Sidecar
from product_service.infrastructure.event_codec import OutboxMessage
from product_service.infrastructure.telemetry import context_from_traceparent, tracer


class PublishFailed(Exception):
    """The sidecar did not accept the message; it stays in the outbox and is tried again."""


class DaprPublisher:
    def __init__(self, sidecar: Sidecar, pubsub_name: str) -> None:
        self._sidecar = sidecar
        self._pubsub_name = pubsub_name

    def publish(self, message: OutboxMessage) -> None:
        metadata = {"partitionKey": message.key, "cloudevent.id": message.event_id}
        # The span continues the trace of the transaction that wrote the row; the sidecar's
        # publish span becomes its child and hands the trace on inside the CloudEvent.
        with tracer().start_as_current_span(
            f"publish {message.topic}",
            context=context_from_traceparent(message.trace_context),
            kind=SpanKind.PRODUCER,
            attributes={"messaging.destination.name": message.topic, "order.id": message.key},
        ):
            try:
                self._sidecar.client.publish_event(
                    pubsub_name=self._pubsub_name,
                    topic_name=message.topic,
                    data=message.payload,
                    data_content_type="application/json",
                    publish_metadata=metadata,
                )
            except (RpcError, OSError, TimeoutError) as exc:
                raise PublishFailed(f"{message.topic} for order {message.key}: {exc}") from exc
