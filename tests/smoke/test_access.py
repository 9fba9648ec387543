"""Who may do what, enforced by real sidecars: topic scopes, component scopes, API tokens; and
by the service itself: the HTTP operator token."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from dapr.proto.runtime.v1 import dapr_pb2_grpc as dapr_grpc
from dapr.proto.runtime.v1 import pubsub_pb2 as dapr

from devstack import Sidecar, Stack
from devstack.stack import PRODUCT_APP_ID
from product_service.contract.product.v1 import product_service_pb2 as pb
from product_service.contract.product.v1 import product_service_pb2_grpc as pb_grpc

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, kafka_up: None, redis_up: None
) -> Iterator[Stack]:
    run = f"access-{time.time_ns()}"
    run_dir = tmp_path_factory.mktemp("access")
    with Stack(profile="full", run_dir=run_dir, consumer_group=run, topic_suffix=run) as started:
        started.start_product()
        started.start_simulator()
        yield started


def publish(sidecar: Sidecar, topic: str, token: str | None) -> grpc.RpcError | None:
    """Publishes through the sidecar's gRPC API; the error it answered, or None."""
    metadata = [("dapr-api-token", token)] if token else []
    request = dapr.PublishEventRequest(
        pubsub_name="pubsub",
        topic=topic,
        data=json.dumps({"OrderId": "1", "OrderDetails": []}).encode(),
        data_content_type="application/json",
    )
    with grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}") as channel:
        try:
            dapr_grpc.DaprStub(channel).PublishEvent(request, metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            return exc
    return None


def test_paid_orders_come_from_the_order_side_or_a_dead_letter_replay(stack: Stack) -> None:
    """The product service publishes its input topics only to replay dead letters; other
    apps are kept out (test_another_app_id_gets_no_pubsub_and_no_lock_store)."""
    assert stack.product is not None and stack.simulator is not None
    paid = stack.topics.wire("OnPaymentSuccess")
    product_sidecar, simulator_sidecar = stack.product.sidecar, stack.simulator.sidecar

    assert publish(simulator_sidecar, paid, simulator_sidecar.api_token) is None
    assert publish(product_sidecar, paid, product_sidecar.api_token) is None


def test_only_the_product_service_may_publish_outcomes(stack: Stack) -> None:
    assert stack.simulator is not None
    sidecar = stack.simulator.sidecar
    for topic in ("OnInventoryDeductSuccess", "OnInventoryDeductFailed", "OnInventoryReverted"):
        refused = publish(sidecar, stack.topics.wire(topic), sidecar.api_token)
        assert refused is not None and "not allowed" in str(refused.details()), topic


def test_the_sidecar_api_refuses_a_caller_without_its_token(stack: Stack) -> None:
    assert stack.simulator is not None
    sidecar = stack.simulator.sidecar
    paid = stack.topics.wire("OnPaymentSuccess")

    for token in (None, "guess"):
        refused = publish(sidecar, paid, token)
        assert refused is not None and refused.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_app_channel_refuses_a_caller_without_the_app_token(stack: Stack) -> None:
    assert stack.product is not None
    product = stack.product
    with grpc.insecure_channel(f"127.0.0.1:{product.sidecar.app_port}") as channel:
        api = pb_grpc.ProductServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            api.GetOrder(pb.GetOrderRequest(order_id=1), timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

        token = [("dapr-api-token", product.sidecar.app_token)]
        with pytest.raises(grpc.RpcError) as answered:
            api.GetOrder(pb.GetOrderRequest(order_id=1), metadata=token, timeout=10)
        assert answered.value.code() == grpc.StatusCode.NOT_FOUND  # let in, nothing recorded


def test_another_app_id_gets_no_pubsub_and_no_lock_store(stack: Stack, tmp_path: Path) -> None:
    """Component scopes: a sidecar started as "intruder" with the product's resources."""
    assert stack.product is not None
    product = stack.product.sidecar
    intruder = Sidecar(
        "intruder", product.daprd, product.resources_paths, product.config_path, tmp_path
    )
    intruder.start(wait=False)
    try:
        components = {c["name"] for c in intruder.metadata().get("components") or []}  # type: ignore[union-attr]
        refused = publish(intruder, stack.topics.wire("OnPaymentSuccess"), intruder.api_token)
    finally:
        intruder.stop()

    assert "pubsub" not in components and "lockstore" not in components
    assert refused is not None
    assert product.app_id == PRODUCT_APP_ID


def test_the_operator_views_ask_for_the_http_token_and_the_probes_do_not(stack: Stack) -> None:
    assert stack.product is not None
    product = stack.product
    base = f"http://127.0.0.1:{product.http_port}"
    guess = {"Authorization": "Bearer guess-guess-guess-guess"}

    for headers in ({}, guess):
        refused = httpx.get(f"{base}/outbox", headers=headers, timeout=10)
        assert refused.status_code == 401, headers
    answered = httpx.get(f"{base}/outbox", headers=product.operator_headers(), timeout=10)
    assert answered.status_code == 200 and "backlog" in answered.json()
    for probe in ("/healthz", "/readyz", "/metrics"):
        assert httpx.get(base + probe, timeout=10).status_code == 200, probe
