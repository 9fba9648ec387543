"""Publishes outbox messages through the sidecar, keyed by order id, with a stable event id; a
raw row (a legacy go-micro record) with rawPayload, so that the record value is its payload."""

from __future__ import annotations

from collections.abc import Sequence

from dapr.proto import api_v1
from grpc import RpcError
from opentelemetry.trace import Link, SpanKind, get_current_span

from product_service.infrastructure.dapr import sdk_gaps
from product_service.infrastructure.dapr.sidecar import Sidecar
from product_service.infrastructure.outbox_codec import OutboxMessage
from product_service.infrastructure.telemetry import context_from_traceparent, tracer

# Dapr publish metadata: no CloudEvent envelope; the data is the Kafka record value as it is.
# Dapr reads it from the request's metadata only, also for a bulk publish.
RAW_PAYLOAD = {"rawPayload": "true"}


class PublishFailed(Exception):
    """The sidecar did not accept the message; it stays in the outbox and is tried again."""


class DaprPublisher:
    def __init__(self, sidecar: Sidecar, pubsub_name: str) -> None:
        self._sidecar = sidecar
        self._pubsub_name = pubsub_name

    def publish(self, message: OutboxMessage) -> None:
        metadata = _entry_metadata(message, traced=False)
        if message.raw:
            metadata |= RAW_PAYLOAD
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

    def publish_batch(self, messages: Sequence[OutboxMessage]) -> set[str]:
        """Publishes messages of one topic in one call, each keyed by its order and carrying
        its own event id and trace (metadata per entry, which DaprClient.publish_events cannot
        send: sdk_gaps.bulk_publish); returns the event ids the sidecar did not accept."""
        topic, raw = messages[0].topic, messages[0].raw
        assert all(m.topic == topic for m in messages), "one topic per bulk publish"
        assert all(m.raw == raw for m in messages), "raw and CloudEvent rows are never mixed"
        entries = [
            api_v1.BulkPublishRequestEntry(
                entry_id=str(index),
                event=message.payload.encode(),
                content_type="application/json",
                metadata=_entry_metadata(message),
            )
            for index, message in enumerate(messages)
        ]
        request = api_v1.BulkPublishRequest(
            pubsub_name=self._pubsub_name,
            topic=topic,
            entries=entries,
            metadata=RAW_PAYLOAD if raw else {},
        )
        with tracer().start_as_current_span(
            f"publish {topic}",
            kind=SpanKind.PRODUCER,
            links=_links({m.trace_context for m in messages}),
            attributes={
                "messaging.destination.name": topic,
                "messaging.batch.message_count": len(messages),
            },
        ):
            try:
                response = sdk_gaps.bulk_publish(self._sidecar.client, request)
            except (RpcError, OSError, TimeoutError) as exc:
                raise PublishFailed(f"{topic}: {len(messages)} events: {exc}") from exc
        return {messages[int(failed.entry_id)].event_id for failed in response.failedEntries}


def _entry_metadata(message: OutboxMessage, traced: bool = True) -> dict[str, str]:
    """Keyed by order id; a CloudEvent also under the row's id and (`traced`: in a bulk
    publish, where no span context reaches the sidecar per entry) the transaction's trace. A
    raw record gets no cloudevent.* metadata: there is no envelope to put it in (its trace
    travels in its own header)."""
    metadata = {"partitionKey": message.key}
    if message.raw:
        return metadata
    metadata["cloudevent.id"] = message.cloud_event_id
    if traced and message.trace_context:  # the consumer's trace continues the transaction's
        metadata["cloudevent.traceparent"] = message.trace_context
    return metadata


def _links(traceparents: set[str | None]) -> list[Link]:
    """One link per distinct trace: the outcomes of one bulk delivery share its trace."""
    contexts = [
        get_current_span(context_from_traceparent(traceparent)).get_span_context()
        for traceparent in sorted(t for t in traceparents if t)
    ]
    return [Link(context) for context in contexts if context.is_valid]
