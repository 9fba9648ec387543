"""Bulk subscriptions on dapr-ext-grpc's App: the sidecar delivers up to N messages per call and
one handler decides them together (one transaction), answering each entry.

dapr-ext-grpc 1.18 declares no bulk subscriptions and hands the entries of a bulk delivery to
the per-message callback one by one. This module adds both on top of its App through
infrastructure/dapr/sdk_gaps.py (declare_bulk, route_bulk), which holds the private parts.
tests/unit/test_app_channel.py drives both over real gRPC, so an SDK change shows there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cloudevents.sdk.event import v1
from dapr.ext.grpc import App, TopicEventResponse
from dapr.proto.runtime.v1 import appcallback_pb2

from product_service.infrastructure.dapr import sdk_gaps
from product_service.infrastructure.settings import Settings

# The Kafka component's metadata item naming a message's partition (components-contrib).
PARTITION_KEY = "__partition"


@dataclass(frozen=True)
class BulkMessage:
    message_id: str  # the CloudEvent id
    data: bytes


@dataclass(frozen=True)
class BulkDelivery:
    topic: str
    traceparent: str | None  # the sidecar's delivery span, sent as gRPC metadata
    messages: list[BulkMessage]
    # The Kafka partition: the component delivers one partition's messages per bulk.
    partition: str | None = None


# The handler's answer per message, in the order of the messages.
BatchHandler = Callable[[BulkDelivery], Sequence[TopicEventResponse]]


@dataclass(frozen=True)
class BulkOptions:
    max_messages: int
    max_await_ms: int

    @classmethod
    def of(cls, settings: Settings) -> BulkOptions:
        return cls(settings.bulk_max_messages, settings.bulk_max_await_ms)

    def metadata_limit(self) -> int:
        """Bytes of gRPC metadata a bulk delivery may carry into the app channel.

        daprd 1.18.3 adds a `traceparent` and a `grpc-trace-bin` header for every entry of a
        bulk delivery (pkg/runtime/subscription/postman/grpc: DeliverBulk), about 200 bytes
        each with their names. grpcio's server refuses more than 8 KiB of metadata
        (RESOURCE_EXHAUSTED, some of the time above 8 KiB and always above 16 KiB), so without
        this a backlog of traced payments, delivered in bulks of 40 or more, was refused
        and retried for minutes. Both limits are set to this, so nothing below it is refused."""
        return 16 * 1024 + self.max_messages * 512

    def server_options(self) -> list[tuple[str, int]]:
        """The grpc.server() options of the app channel that these deliveries need."""
        limit = self.metadata_limit()
        return [("grpc.max_metadata_size", limit), ("grpc.absolute_max_metadata_size", limit)]


def subscribe_in_bulk(
    app: App,
    pubsub_name: str,
    topic: str,
    dead_letter_topic: str,
    single: Callable[[v1.Event], TopicEventResponse],
    batch: BatchHandler,
    options: BulkOptions,
) -> None:
    """Declares `topic` with bulk delivery; `single` still answers one-message deliveries."""
    app.subscribe(pubsub_name, topic, dead_letter_topic=dead_letter_topic)(single)
    sdk_gaps.declare_bulk(app, pubsub_name, topic, options.max_messages, options.max_await_ms)
    router = sdk_gaps.bulk_hook(app)
    if not isinstance(router, _BulkRouter):
        router = _BulkRouter({})
        sdk_gaps.route_bulk(app, router)
    router.batches[(pubsub_name, topic)] = batch


@dataclass(frozen=True)
class _BulkRouter:
    """The app's bulk deliveries, by pub/sub and topic, each to its batch handler whole."""

    batches: dict[tuple[str, str], BatchHandler]

    def __call__(
        self, request: appcallback_pb2.TopicEventBulkRequest, context: Any
    ) -> appcallback_pb2.TopicEventBulkResponse | None:
        handler = self.batches.get((request.pubsub_name, request.topic))
        if handler is None:
            return None  # the SDK answers UNIMPLEMENTED
        traceparent = dict(context.invocation_metadata()).get("traceparent")
        messages = [_message(entry) for entry in request.entries]
        partition = request.entries[0].metadata.get(PARTITION_KEY) if request.entries else None
        answers = handler(BulkDelivery(request.topic, traceparent, messages, partition))
        return appcallback_pb2.TopicEventBulkResponse(
            statuses=[
                appcallback_pb2.TopicEventBulkResponseEntry(
                    entry_id=entry.entry_id, status=answer.status.value
                )
                for entry, answer in zip(request.entries, answers, strict=True)
            ]
        )


def _message(entry: appcallback_pb2.TopicEventBulkRequestEntry) -> BulkMessage:
    if entry.HasField("cloud_event"):
        return BulkMessage(entry.cloud_event.id, entry.cloud_event.data)
    return BulkMessage(entry.entry_id, entry.bytes)  # not a CloudEvent: daprd's entry id
