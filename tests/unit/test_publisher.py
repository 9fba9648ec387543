"""What the publisher asks the sidecar for: a CloudEvent under the row's id, or a raw record
(rawPayload, no cloudevent.* metadata) whose Kafka value is exactly the row's payload; and the
relay never puts both kinds in one bulk publish. A fake sidecar API records the requests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from product_service.infrastructure.dapr import publisher as publisher_module
from product_service.infrastructure.dapr.publisher import DaprPublisher
from product_service.infrastructure.dapr.sidecar import Sidecar
from product_service.infrastructure.outbox_codec import OutboxMessage
from product_service.infrastructure.relay import publish_in_order
from tests.fake_sidecar import FakeSidecarApi
from tests.fakes import FixedClock

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
RECORD = '{"Header":{"Pkey":"1001"},"Body":"CAE="}'
RAW = OutboxMessage("e-raw", "ProductEvent", "1001", RECORD, TRACE, raw=True)
CLOUD = OutboxMessage("e-ce", "OnInventoryDeductSuccess", "1002", "{}", TRACE, "ce-1")


@pytest.fixture
def publisher(sidecar_api: FakeSidecarApi) -> Iterator[DaprPublisher]:
    sidecar = Sidecar(call_timeout_seconds=5)
    try:
        yield DaprPublisher(sidecar, "pubsub")
    finally:
        sidecar.close()


def test_a_raw_row_is_published_as_it_is_keyed_by_order(
    publisher: DaprPublisher, sidecar_api: FakeSidecarApi
) -> None:
    publisher.publish(RAW)

    (request,) = sidecar_api.requests["PublishEvent"]
    assert dict(request.metadata) == {"partitionKey": "1001", "rawPayload": "true"}
    assert (request.topic, request.data) == ("ProductEvent", RECORD.encode())
    assert request.data_content_type == "application/json"


def test_a_cloud_event_row_keeps_its_id_and_is_not_raw(
    publisher: DaprPublisher, sidecar_api: FakeSidecarApi
) -> None:
    publisher.publish(CLOUD)

    (request,) = sidecar_api.requests["PublishEvent"]
    assert dict(request.metadata) == {"partitionKey": "1002", "cloudevent.id": "ce-1"}


def test_raw_rows_go_out_in_bulk_as_raw_with_only_their_keys_per_entry(
    publisher: DaprPublisher, sidecar_api: FakeSidecarApi
) -> None:
    other = OutboxMessage("e-raw-2", "ProductEvent", "1003", RECORD, None, raw=True)

    assert publisher.publish_batch([RAW, other]) == set()

    (request,) = sidecar_api.requests["BulkPublishEvent"]
    assert dict(request.metadata) == {"rawPayload": "true"}  # Dapr reads it per request
    assert [dict(entry.metadata) for entry in request.entries] == [
        {"partitionKey": "1001"},
        {"partitionKey": "1003"},
    ]
    assert [entry.event for entry in request.entries] == [RECORD.encode()] * 2


def test_cloud_events_in_bulk_carry_id_and_trace_and_no_raw_flag(
    publisher: DaprPublisher, sidecar_api: FakeSidecarApi
) -> None:
    publisher.publish_batch([CLOUD])

    (request,) = sidecar_api.requests["BulkPublishEvent"]
    assert dict(request.metadata) == {}
    assert dict(request.entries[0].metadata) == {
        "partitionKey": "1002",
        "cloudevent.id": "ce-1",
        "cloudevent.traceparent": TRACE,
    }


def test_a_bulk_publish_span_links_each_trace_of_its_messages_once(
    publisher: DaprPublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(publisher_module, "tracer", lambda: provider.get_tracer("test"))
    other_trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    messages = [
        OutboxMessage(f"e-{n}", "OnInventoryDeductSuccess", str(n), "{}", trace)
        for n, trace in enumerate([TRACE, other_trace, TRACE, None])
    ]

    publisher.publish_batch(messages)

    (span,) = spans.get_finished_spans()
    linked = sorted(f"{link.context.trace_id:032x}" for link in span.links)
    assert linked == sorted([TRACE.split("-")[1], other_trace.split("-")[1]])


def test_a_bulk_publish_refuses_to_mix_raw_and_cloud_event_rows(publisher: DaprPublisher) -> None:
    mixed = OutboxMessage("e-ce-2", "ProductEvent", "1004", "{}")
    with pytest.raises(AssertionError, match="never mixed"):
        publisher.publish_batch([RAW, mixed])


class Recording:
    """A publisher that accepts everything and remembers each call's messages."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def publish(self, message: OutboxMessage) -> None:
        self.calls.append([message.event_id])

    def publish_batch(self, messages: Sequence[OutboxMessage]) -> set[str]:
        self.calls.append([m.event_id for m in messages])
        return set()


class Store:
    def mark_published(self, event_ids: Sequence[str], at: datetime) -> None:
        self.marked = list(event_ids)

    def count_failed_attempts(self, event_ids: object) -> None:  # pragma: no cover
        raise AssertionError("nothing fails here")


def test_the_relay_splits_a_run_of_one_topic_where_raw_and_cloud_event_rows_meet() -> None:
    def row(event_id: str, raw: bool) -> OutboxMessage:
        return OutboxMessage(event_id, "T", event_id, "{}", raw=raw)

    rows = [row("a", True), row("b", True), row("c", False), row("d", False), row("e", True)]
    publisher, store = Recording(), Store()

    clock = FixedClock(datetime.now(UTC))
    published, failure = publish_in_order(store, publisher, rows, clock)  # type: ignore[arg-type]

    assert failure is None and published == ["a", "b", "c", "d", "e"]
    assert publisher.calls == [["a", "b"], ["c", "d"], ["e"]]
