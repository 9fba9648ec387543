"""The app channel `serve` runs, built by the same function, served on a free port, and what
daprd sends over it."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
from dapr.proto.runtime.v1 import appcallback_pb2 as callback
from dapr.proto.runtime.v1 import appcallback_pb2_grpc as callback_grpc
from google.protobuf import empty_pb2

from devstack.net import free_port
from product_service.application.service import InventoryService
from product_service.bootstrap import Runtime
from product_service.contract.product.v1 import product_service_pb2_grpc as pb_grpc
from product_service.infrastructure.settings import Settings
from product_service.interfaces.grpc.channel import app_channel
from product_service.interfaces.grpc.intake import Intake
from tests.fakes import MemoryStore, memory_runtime

Status = callback.TopicEventResponse.TopicEventResponseStatus


@dataclass
class Channel:
    store: MemoryStore
    inventory: InventoryService
    intake: Intake
    daprd: callback_grpc.AppCallbackStub
    api: pb_grpc.ProductServiceStub
    topics: list[str]
    bulk: dict[str, tuple[bool, int, int]]


@contextmanager
def running_channel(settings: Settings | None = None) -> Iterator[Channel]:
    """The app channel on in-memory adapters, with what it declared to daprd."""
    store, intake = MemoryStore(), Intake()
    runtime = memory_runtime(store, settings)
    with serving(runtime, intake) as connection:
        subscriptions = callback_grpc.AppCallbackStub(connection).ListTopicSubscriptions(
            empty_pb2.Empty()
        )
        topics = [f"{s.topic}->{s.dead_letter_topic}" for s in subscriptions.subscriptions]
        bulk = {
            s.topic: (
                s.bulk_subscribe.enabled,
                s.bulk_subscribe.max_messages_count,
                s.bulk_subscribe.max_await_duration_ms,
            )
            for s in subscriptions.subscriptions
        }
        yield Channel(
            store,
            runtime.inventory,
            intake,
            callback_grpc.AppCallbackStub(connection),
            pb_grpc.ProductServiceStub(connection),
            topics,
            bulk,
        )


def deliver(
    channel: Channel,
    topic: str,
    data: bytes,
    message_id: str = "m-1",
    content_type: str = "application/json",
    metadata: Sequence[tuple[str, str]] = (),
) -> int:
    """One message as daprd sends it (`metadata`: what it sends as gRPC metadata with it, the
    message's pub/sub metadata such as the Kafka partition)."""
    request = callback.TopicEventRequest(
        id=message_id,
        source="order-service",
        type="com.dapr.event.sent",
        spec_version="1.0",
        data_content_type=content_type,
        data=data,
        topic=topic,
        pubsub_name="pubsub",
    )
    return int(channel.daprd.OnTopicEvent(request, metadata=metadata).status)


def deliver_raw(channel: Channel, topic: str, data: bytes) -> int:
    """A record of a rawPayload subscription as daprd 1.18 delivers it: the Kafka value as the
    data, under a new random id each time (contribpubsub.FromRawPayload)."""
    return deliver(channel, topic, data, f"raw-{uuid.uuid4()}", "application/octet-stream")


def payment(order_id: int, sku_id: int, quantity: int) -> bytes:
    details = [{"product_id": 1, "sku_id": sku_id, "quantity": quantity}]
    return json.dumps({"OrderId": order_id, "OrderDetails": details}).encode()


def deliver_bulk(
    channel: Channel,
    topic: str,
    *entries: tuple[str, bytes],
    metadata: Sequence[tuple[str, str | bytes]] = (),
    entry_metadata: dict[str, str] | None = None,
) -> list[int]:
    """A bulk delivery as daprd sends it; the answers in entry order."""
    request = bulk_request(topic, *entries, entry_metadata=entry_metadata)
    response = channel.daprd.OnBulkTopicEvent(request, metadata=metadata)
    assert [s.entry_id for s in response.statuses] == [str(i) for i in range(len(entries))]
    return [int(s.status) for s in response.statuses]


def bulk_request(
    topic: str, *entries: tuple[str, bytes], entry_metadata: dict[str, str] | None = None
) -> callback.TopicEventBulkRequest:
    return callback.TopicEventBulkRequest(
        id="bulk-1",
        topic=topic,
        pubsub_name="pubsub",
        type="com.dapr.event.sent",
        entries=[
            callback.TopicEventBulkRequestEntry(
                entry_id=str(index),
                content_type="application/cloudevents+json",
                cloud_event=callback.TopicEventCERequest(
                    id=message_id, data=data, data_content_type="application/json"
                ),
                metadata=entry_metadata or {},
            )
            for index, (message_id, data) in enumerate(entries)
        ],
    )


@contextmanager
def serving(runtime: Runtime, intake: Intake | None = None) -> Iterator[grpc.Channel]:
    """A gRPC connection to the runtime's app channel, as daprd opens one."""
    channel = app_channel(runtime, intake or Intake(), ThreadPoolExecutor(8))
    port = free_port()
    threading.Thread(target=channel.run, args=(port, "127.0.0.1"), daemon=True).start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as connection:
            grpc.channel_ready_future(connection).result(timeout=10)
            yield connection
    finally:
        channel.stop()
