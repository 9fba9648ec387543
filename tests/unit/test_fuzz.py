"""Fuzzing the app channel in process: whatever arrives, a clear answer and nothing half-written.

Generated payloads go to the subscription handler and generated requests to the ProductService
API over real gRPC. A delivery is answered SUCCESS (a decided order) or DROP (nothing written),
never RETRY or an error; an API call answers OK or a client-error status, never INTERNAL, and a
refused call writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from dapr.proto.runtime.v1 import appcallback_pb2 as callback
from dapr.proto.runtime.v1 import appcallback_pb2_grpc as callback_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from product_service.contract.product.v1 import events_pb2 as events
from product_service.contract.product.v1 import product_service_pb2 as pb
from product_service.contract.product.v1 import product_service_pb2_grpc as pb_grpc
from tests.app_channel import serving
from tests.factories import product_with
from tests.fakes import MemoryStore, memory_runtime

Status = callback.TopicEventResponse.TopicEventResponseStatus
CLIENT_ERRORS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
}
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass
class Channel:
    store: MemoryStore
    daprd: callback_grpc.AppCallbackStub
    api: pb_grpc.ProductServiceStub


@pytest.fixture(scope="module")
def channel() -> Iterator[Channel]:
    store = MemoryStore()
    runtime = memory_runtime(store)
    runtime.inventory.create_product(product_with(50, 50, 50))  # SKUs 1..3 exist
    with serving(runtime) as connection:
        yield Channel(
            store,
            callback_grpc.AppCallbackStub(connection),
            pb_grpc.ProductServiceStub(connection),
        )


ids = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=0, max_value=5),
    st.text(max_size=25),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
)
quantities = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40), st.floats(), st.text(max_size=5)
)
lines = st.lists(
    st.dictionaries(
        st.sampled_from(["product_id", "sku_id", "skuId", "quantity", "extra"]),
        st.one_of(ids, quantities),
        max_size=4,
    ),
    max_size=6,
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
payment_like = st.fixed_dictionaries(
    {},
    optional={
        "OrderId": ids,
        "orderId": ids,
        "OrderDetails": st.one_of(lines, json_values),
        "orderDetails": lines,
    },
)
payloads = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    payment_like.map(lambda v: json.dumps(v).encode()),
)


def deliver(channel: Channel, topic: str, data: bytes) -> int:
    request = callback.TopicEventRequest(
        id="fuzz",
        topic=topic,
        pubsub_name="pubsub",
        data=data,
        data_content_type="application/json",
    )
    return int(channel.daprd.OnTopicEvent(request, timeout=10).status)


@FUZZ
@given(data=payloads, topic=st.sampled_from(["OnPaymentSuccess", "OnInventoryDeductSuccessDLQ"]))
def test_any_payload_is_decided_or_dropped_with_nothing_written(
    channel: Channel, data: bytes, topic: str
) -> None:
    commits = channel.store.commits

    answer = deliver(channel, topic, data)

    assert answer in (Status.SUCCESS, Status.DROP)
    if answer == Status.DROP:
        assert channel.store.commits == commits


int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
uint32 = st.integers(min_value=0, max_value=2**32 - 1)
order_details = st.builds(
    events.OrderDetail, product_id=int64, sku_id=int64 | st.integers(1, 4), quantity=int32
)
new_skus = st.builds(
    pb.NewSku,
    code=st.text(max_size=70),
    price=st.text(max_size=12) | st.decimals(allow_nan=False, places=3).map(str),
    stock=uint32,
    warn_threshold=uint32,
    status=st.sampled_from([0, 1, 2]),
)
calls = st.one_of(
    st.builds(
        lambda r: ("DeductInventory", r),
        st.builds(
            pb.DeductInventoryRequest, order_id=int64, lines=st.lists(order_details, max_size=5)
        ),
    ),
    st.builds(
        lambda r: ("RevertInventory", r), st.builds(pb.RevertInventoryRequest, order_id=int64)
    ),
    st.builds(
        lambda r: ("CreateProduct", r),
        st.builds(
            pb.CreateProductRequest, name=st.text(max_size=300), skus=st.lists(new_skus, max_size=3)
        ),
    ),
    st.builds(
        lambda r: ("AdjustStock", r),
        st.builds(
            pb.AdjustStockRequest,
            sku_id=int64 | st.integers(1, 4),
            delta=int32,
            reason=st.text(max_size=300),
        ),
    ),
    st.builds(lambda r: ("GetSku", r), st.builds(pb.GetSkuRequest, sku_id=int64)),
    st.builds(lambda r: ("GetProduct", r), st.builds(pb.GetProductRequest, product_id=int64)),
    st.builds(
        lambda r: ("GetStockByCode", r),
        st.builds(pb.GetStockByCodeRequest, code=st.text(max_size=80)),
    ),
    st.builds(
        lambda r: ("CheckThresholds", r),
        st.builds(pb.CheckThresholdsRequest, sku_ids=st.lists(int64, max_size=5)),
    ),
    st.builds(lambda r: ("GetOrder", r), st.builds(pb.GetOrderRequest, order_id=int64)),
)


@FUZZ
@given(call=calls)
def test_any_api_request_gets_ok_or_a_client_error_and_a_refusal_writes_nothing(
    channel: Channel, call: tuple[str, Any]
) -> None:
    method, request = call
    commits = channel.store.commits

    try:
        getattr(channel.api, method)(request, timeout=10)
    except grpc.RpcError as exc:
        assert exc.code() in CLIENT_ERRORS, (method, exc.code(), exc.details())
        assert exc.details() and exc.details().split(":")[0].isupper()
        assert channel.store.commits == commits
