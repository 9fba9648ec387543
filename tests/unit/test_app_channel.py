"""The Dapr app channel in process: what daprd sends over gRPC, and what it gets back."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from dapr.ext.grpc import App
from dapr.proto.runtime.v1 import appcallback_pb2 as callback
from dapr.proto.runtime.v1 import appcallback_pb2_grpc as callback_grpc
from prometheus_client import REGISTRY
from pydantic import SecretStr

from devstack.net import free_port
from product_service.contract.product.v1 import events_pb2 as events
from product_service.contract.product.v1 import product_service_pb2 as pb
from product_service.contract.product.v1 import product_service_pb2_grpc as pb_grpc
from product_service.domain.model import FailureReason, Outcome
from product_service.infrastructure.settings import Settings
from tests.app_channel import (
    Channel,
    Status,
    bulk_request,
    deliver,
    deliver_bulk,
    payment,
    serving,
)
from tests.factories import product_with
from tests.fakes import MemoryStore, memory_runtime

TOKEN = SecretStr("s3cret")


# What daprd 1.18.3 sends with a traced bulk delivery: a `traceparent` (98 bytes counted as
# HTTP/2 does, name + value + 32) and a `grpc-trace-bin` (75) header for every entry. grpcio's
# own client folds repeated trace headers into one, so the test sends stand-ins of the same
# sizes under other names; the server counts them alike.
TRACEPARENT_SIZE, TRACE_BIN_SIZE, HEADER_OVERHEAD = 98, 75, 32


def daprd_trace_headers(entries: int) -> list[tuple[str, str | bytes]]:
    headers: list[tuple[str, str | bytes]] = []
    for n in range(entries):
        for name, size in (("x-traceparent", TRACEPARENT_SIZE), ("x-grpc-trace", TRACE_BIN_SIZE)):
            value = f"{n:016x}".ljust(size - HEADER_OVERHEAD - len(name), "0")
            headers.append((name, value))
    return headers


def header_list_size(headers: Sequence[tuple[str, str | bytes]]) -> int:
    return sum(len(name) + len(value) + HEADER_OVERHEAD for name, value in headers)


def test_subscriptions_name_their_dead_letter_topics_and_collect_them(channel: Channel) -> None:
    assert sorted(channel.topics) == [
        "OnInventoryDeductSuccessDLQ->OnInventoryDeductSuccessDLQ.dead-letter",
        "OnInventoryDeductSuccessDLQ.dead-letter->",
        "OnPaymentSuccess->OnPaymentSuccess.dead-letter",
        "OnPaymentSuccess.dead-letter->",
    ]


def test_payments_are_declared_for_bulk_delivery(channel: Channel) -> None:
    settings = Settings()
    assert channel.bulk == {
        "OnPaymentSuccess": (True, settings.bulk_max_messages, settings.bulk_max_await_ms),
        "OnInventoryDeductSuccessDLQ": (False, 0, 0),
        "OnPaymentSuccess.dead-letter": (False, 0, 0),
        "OnInventoryDeductSuccessDLQ.dead-letter": (False, 0, 0),
    }


def test_a_bulk_delivery_answers_each_entry_and_commits_once(channel: Channel) -> None:
    a, b = channel.inventory.create_product(product_with(5, 1)).skus
    commits = channel.store.commits

    answers = deliver_bulk(
        channel,
        "OnPaymentSuccess",
        ("m-1", payment(11, a.id, 2)),
        ("m-2", b"not json"),
        ("m-3", payment(12, b.id, 5)),  # refused for stock: still a success answer
        ("m-4", payment(13, a.id, 3)),
        ("m-1", payment(11, a.id, 2)),  # redelivered inside the batch
    )

    assert answers == [Status.SUCCESS, Status.DROP, Status.SUCCESS, Status.SUCCESS, Status.SUCCESS]
    assert channel.store.commits == commits + 1
    assert [channel.inventory.sku(a.id).stock, channel.inventory.sku(b.id).stock] == [0, 1]


def test_a_bulk_delivery_logs_one_line_and_a_line_per_order_that_did_not_simply_succeed(
    channel: Channel, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = channel.inventory.create_product(product_with(5, 1)).skus
    caplog.set_level(logging.INFO, "product_service.interfaces.grpc.subscriptions")

    deliver_bulk(
        channel,
        "OnPaymentSuccess",
        ("m-1", payment(21, a.id, 2)),
        ("m-2", b"not json"),
        ("m-3", payment(22, b.id, 5)),
        ("m-4", payment(23, a.id, 3)),
    )

    lines = {r.getMessage(): r for r in caplog.records}
    summary = lines["OnPaymentSuccess bulk delivery of 4: 1 DROPPED, 1 FAILED, 2 SUCCEEDED"]
    assert summary.order_ids == [21, 22, 23]  # type: ignore[attr-defined]
    orders = [m for m in lines if " order " in m]
    assert orders == ["OnPaymentSuccess order 22: FAILED INSUFFICIENT_STOCK"]


def test_a_full_traced_bulk_delivery_fits_the_app_channels_metadata_limit(
    channel: Channel,
) -> None:
    """grpcio refuses more than 8 KiB of request metadata by default; a traced bulk delivery of
    100 entries carries about 20 KiB of it (seen refused under a backlog in the fault suite)."""
    sku = channel.inventory.create_product(product_with(1000)).skus[0]
    count = Settings().bulk_max_messages
    entries = [(f"m-{n}", payment(100 + n, sku.id, 1)) for n in range(count)]
    headers = daprd_trace_headers(count)
    assert header_list_size(headers) == count * (TRACEPARENT_SIZE + TRACE_BIN_SIZE)
    assert header_list_size(headers) > 16 * 1024  # above grpcio's hard default

    answers = deliver_bulk(channel, "OnPaymentSuccess", *entries, metadata=headers)

    assert answers == [Status.SUCCESS] * count
    assert channel.inventory.sku(sku.id).stock == 1000 - count


def test_without_the_metadata_limit_grpcio_refuses_such_a_delivery() -> None:
    """Why the app channel sets grpc.max_metadata_size: the same call, default options."""
    app = App(thread_pool=ThreadPoolExecutor(2))
    port = free_port()
    threading.Thread(target=app.run, args=(port, "127.0.0.1"), daemon=True).start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as conn:
            grpc.channel_ready_future(conn).result(timeout=10)
            daprd = callback_grpc.AppCallbackStub(conn)
            with pytest.raises(grpc.RpcError) as refused:
                daprd.OnBulkTopicEvent(
                    bulk_request("OnPaymentSuccess", ("m", b"{}")),
                    metadata=daprd_trace_headers(100),
                )
    finally:
        app.stop()
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_bulk_delivery_is_retried_whole_when_the_database_is_down(channel: Channel) -> None:
    channel.store.reachable = False

    answers = deliver_bulk(
        channel, "OnPaymentSuccess", ("m-1", payment(21, 1, 1)), ("m-2", b"not json")
    )

    assert answers == [Status.RETRY, Status.DROP]


def test_bulk_deliveries_after_shutdown_began_are_retried_later(channel: Channel) -> None:
    sku = channel.inventory.create_product(product_with(5)).skus[0]
    assert channel.intake.close_and_drain(timeout=1)

    assert deliver_bulk(channel, "OnPaymentSuccess", ("m-1", payment(31, sku.id, 1))) == [
        Status.RETRY
    ]
    assert channel.inventory.sku(sku.id).stock == 5


def test_paid_order_is_deducted_and_answered_success(channel: Channel) -> None:
    sku = channel.inventory.create_product(product_with(5)).skus[0]

    assert deliver(channel, "OnPaymentSuccess", payment(1, sku.id, 2)) == Status.SUCCESS

    assert channel.inventory.sku(sku.id).stock == 3


def test_business_refusal_is_a_success_answer(channel: Channel) -> None:
    sku = channel.inventory.create_product(product_with(1)).skus[0]

    assert deliver(channel, "OnPaymentSuccess", payment(2, sku.id, 5)) == Status.SUCCESS

    assert channel.inventory.sku(sku.id).stock == 1


@pytest.mark.parametrize(
    "data",
    [b"not json", b"{}", b'{"OrderId": 3, "OrderDetails": [{"sku_id": 1, "quantity": 0}]}', b""],
)
def test_malformed_payload_is_dropped_and_writes_nothing(channel: Channel, data: bytes) -> None:
    commits = channel.store.commits

    assert deliver(channel, "OnPaymentSuccess", data) == Status.DROP

    assert channel.store.commits == commits


def test_transient_failure_asks_for_a_retry(channel: Channel) -> None:
    channel.store.reachable = False

    assert deliver(channel, "OnPaymentSuccess", payment(4, 1, 1)) == Status.RETRY


def test_rejected_success_reverts_the_deduction(channel: Channel) -> None:
    sku = channel.inventory.create_product(product_with(5)).skus[0]
    deliver(channel, "OnPaymentSuccess", payment(5, sku.id, 2))
    rejected = json.dumps({"OrderId": "5", "Sku": [{"Id": str(sku.id), "Quantity": 2}]}).encode()

    assert deliver(channel, "OnInventoryDeductSuccessDLQ", rejected) == Status.SUCCESS
    assert deliver(channel, "OnInventoryDeductSuccessDLQ", rejected, "m-2") == Status.SUCCESS

    assert channel.inventory.sku(sku.id).stock == 5


def test_deliveries_after_shutdown_began_are_retried_later(channel: Channel) -> None:
    sku = channel.inventory.create_product(product_with(5)).skus[0]
    assert channel.intake.close_and_drain(timeout=1)

    assert deliver(channel, "OnPaymentSuccess", payment(6, sku.id, 1)) == Status.RETRY

    assert channel.inventory.sku(sku.id).stock == 5


def test_a_line_under_another_product_is_refused_alike_by_event_bulk_delivery_and_api(
    channel: Channel,
) -> None:
    (sku,) = channel.inventory.create_product(product_with(5)).skus
    other = channel.inventory.create_product(product_with(5))
    line = {"product_id": other.id, "sku_id": sku.id, "quantity": 1}

    def paid(order_id: int) -> bytes:
        return json.dumps({"OrderId": order_id, "OrderDetails": [line]}).encode()

    assert deliver(channel, "OnPaymentSuccess", paid(41)) == Status.SUCCESS
    assert deliver_bulk(channel, "OnPaymentSuccess", ("m-2", paid(42))) == [Status.SUCCESS]
    request = pb.DeductInventoryRequest(order_id=43, lines=[events.OrderDetail(**line)])
    reply = channel.api.DeductInventory(request)

    assert (reply.outcome, reply.reason) == (pb.FAILED, events.PRODUCT_MISMATCH)
    recorded = {
        (r.outcome, r.reason) for n in (41, 42, 43) for r in channel.inventory.order_record(n)
    }
    assert recorded == {(Outcome.FAILED, FailureReason.PRODUCT_MISMATCH)}
    assert channel.inventory.sku(sku.id).stock == 5


def test_api_deduct_is_idempotent_per_order(channel: Channel) -> None:
    sku = channel.inventory.create_product(product_with(5)).skus[0]
    request = pb.DeductInventoryRequest(
        order_id=7, lines=[events.OrderDetail(product_id=1, sku_id=sku.id, quantity=2)]
    )

    first = channel.api.DeductInventory(request)
    second = channel.api.DeductInventory(request)

    assert (first.outcome, first.duplicate) == (pb.SUCCEEDED, False)
    assert (second.outcome, second.duplicate) == (pb.SUCCEEDED, True)
    assert channel.api.GetSku(pb.GetSkuRequest(sku_id=sku.id)).stock == 3


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        (lambda api: api.GetSku(pb.GetSkuRequest(sku_id=0)), "INVALID_ARGUMENT", "INVALID_ID"),
        (lambda api: api.GetSku(pb.GetSkuRequest(sku_id=999)), "NOT_FOUND", "UNKNOWN_SKU"),
        (lambda api: api.GetOrder(pb.GetOrderRequest(order_id=999)), "NOT_FOUND", "ORDER_NOT"),
        (
            lambda api: api.CreateProduct(
                pb.CreateProductRequest(name="x", skus=[pb.NewSku(code="A", price="abc")])
            ),
            "INVALID_ARGUMENT",
            "INVALID_PRICE",
        ),
        (
            lambda api: api.AdjustStock(pb.AdjustStockRequest(sku_id=1, delta=0, reason="x")),
            "INVALID_ARGUMENT",
            "INVALID",
        ),
        (
            lambda api: api.CheckThresholds(pb.CheckThresholdsRequest()),
            "INVALID_ARGUMENT",
            "INVALID_BATCH",
        ),
    ],
)
def test_api_errors_carry_a_status_and_a_stable_code(
    channel: Channel, call: object, status: str, code: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        call(channel.api)  # type: ignore[operator]

    assert raised.value.code().name == status
    assert raised.value.details().startswith(code)


def test_api_refuses_a_write_off_below_zero(channel: Channel) -> None:
    sku = channel.inventory.create_product(product_with(1)).skus[0]

    with pytest.raises(grpc.RpcError) as raised:
        channel.api.AdjustStock(pb.AdjustStockRequest(sku_id=sku.id, delta=-2, reason="broken"))

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert channel.inventory.sku(sku.id).stock == 1


def test_with_an_app_token_calls_without_it_are_refused_and_change_nothing() -> None:
    store = MemoryStore()
    runtime = memory_runtime(store, Settings().model_copy(update={"app_api_token": TOKEN}))
    inventory = runtime.inventory
    sku = inventory.create_product(product_with(5)).skus[0]
    request = pb.GetSkuRequest(sku_id=sku.id)
    with serving(runtime) as connection:
        api = pb_grpc.ProductServiceStub(connection)
        daprd = callback_grpc.AppCallbackStub(connection)
        for metadata in [(), (("dapr-api-token", "guess"),)]:
            with pytest.raises(grpc.RpcError) as refused:
                api.GetSku(request, metadata=metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        event = callback.TopicEventRequest(
            id="m", topic="OnPaymentSuccess", pubsub_name="pubsub", data=payment(1, sku.id, 1)
        )
        with pytest.raises(grpc.RpcError):
            daprd.OnTopicEvent(event)

        granted = api.GetSku(request, metadata=(("dapr-api-token", "s3cret"),))

    assert granted.stock == 5
    assert inventory.sku(sku.id).stock == 5


def partition_messages(topic: str, partition: str) -> float:
    labels = {"topic": topic, "partition": partition}
    return REGISTRY.get_sample_value("product_partition_messages_total", labels) or 0.0


def test_each_delivery_counts_the_kafka_partition_it_came_from(channel: Channel) -> None:
    [sku] = channel.inventory.create_product(product_with(50)).skus
    single, bulk = (
        partition_messages("OnPaymentSuccess", "3"),
        partition_messages("OnPaymentSuccess", "4"),
    )

    deliver(
        channel,
        "OnPaymentSuccess",
        payment(71, sku.id, 1),
        "p-1",
        metadata=(("__partition", "3"),),
    )
    deliver_bulk(
        channel,
        "OnPaymentSuccess",
        ("p-2", payment(72, sku.id, 1)),
        ("p-3", payment(73, sku.id, 1)),
        entry_metadata={"__partition": "4", "__topic": "OnPaymentSuccess"},
    )

    assert partition_messages("OnPaymentSuccess", "3") == single + 1
    assert partition_messages("OnPaymentSuccess", "4") == bulk + 2
