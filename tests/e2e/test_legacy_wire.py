"""The legacy bridge end to end (issue 18): the Go order service's go-micro records, written and
read by tools/legacy_peer (built from go-micro v4.11.0, its Kafka plugin v1.2.0 and sarama
v1.30.1), against the product service on the real stack with PRODUCT_LEGACY_WIRE=v7.

The stack is its own: the bridge is off by default. Its legacy topics carry the run's name as a
prefix (order_simulator.topics), so the peer's `--topic-prefix` finds them; the peer consumes
as order v7 does and says whether order v7 would have handled each record (`accepted`).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devstack.kafka import ensure_topics
from order_simulator.topics import DEAD_LETTER_SUFFIX, Topics
from product_service.contract.legacy.v7 import events_pb2 as legacy
from product_service.domain.events import EVENT_ID_NAMESPACE
from tests.e2e.conftest import RUN_TOKEN, own_database_url, warmed_world
from tests.e2e.kafka_io import DaprStyleProducer
from tests.e2e.world import DEDUCTED, World
from tests.eventually import eventually
from tests.faults.check import metric
from tests.fullstack import KAFKA_BOOTSTRAP, PRODUCT_ENV, database, full_stack
from tests.legacy_peer import Consumer, LegacyPeer, Record

pytestmark = pytest.mark.e2e

PAYMENTS, ANSWERS, REFUSALS, REJECTIONS = (
    "OrderEvent",
    "ProductEvent",
    "OrderEventDLQ",
    "ProductEventDLQ",
)


@dataclass
class Legacy:
    world: World
    peer: LegacyPeer
    answers: Consumer  # the order service's consumer of ProductEvent and OrderEventDLQ
    names: Topics

    def wire(self, topic: str) -> str:
        return self.names.wire(topic)

    def answer_of(self, order_id: int) -> Record:
        (record,) = self.answers.expect(1, lambda r: r.order_id == order_id, timeout=60)
        return record


def legacy_settings(names: Topics) -> dict[str, str]:
    return {
        "PRODUCT_LEGACY_WIRE": "v7",
        "PRODUCT_LEGACY_TOPIC_PAYMENT_SUCCEEDED": names.wire(PAYMENTS),
        "PRODUCT_LEGACY_TOPIC_DEDUCT_SUCCEEDED": names.wire(ANSWERS),
        "PRODUCT_LEGACY_TOPIC_DEDUCT_REFUSED": names.wire(REFUSALS),
        "PRODUCT_LEGACY_TOPIC_DEDUCT_REJECTED": names.wire(REJECTIONS),
    }


@pytest.fixture(scope="module")
def bridge(
    infrastructure: None,
    raw_producer: DaprStyleProducer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Legacy]:
    token = f"{RUN_TOKEN}-legacy"
    names = Topics(f"e2e-legacy-{token}")
    peer = LegacyPeer.found(topic_prefix=names.legacy_prefix)
    # The Go services create no topics; their deployment did (and so does this test).
    legacy_topics = [names.wire(t) for t in (PAYMENTS, ANSWERS, REFUSALS, REJECTIONS)]
    dead = [names.wire(t) + DEAD_LETTER_SUFFIX for t in (PAYMENTS, REJECTIONS)]
    ensure_topics(KAFKA_BOOTSTRAP, legacy_topics + dead, partitions=6)
    env = {**PRODUCT_ENV, **legacy_settings(names)}
    out = tmp_path_factory.mktemp("legacy") / "order-service.jsonl"
    url = own_database_url("legacy")
    with database(url) as engine, full_stack("e2e-legacy", token, url, env=env) as running:
        world = warmed_world(running, raw_producer, engine, token)
        group = names.legacy_prefix + "order-consumer"
        topics = [names.wire(ANSWERS), names.wire(REFUSALS)]
        with peer.consumer(out, group=group, topics=topics) as answers:
            answers.wait_ready()
            yield Legacy(world, peer, answers, names)


def event_id(kind: str, order_id: int) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{kind}:{order_id}"))


def test_a_paid_order_is_deducted_and_answered_as_the_go_product_service_did(
    bridge: Legacy,
) -> None:
    world = bridge.world
    sku = world.new_sku(stock=10, threshold=3)
    order = world.new_order_id()

    (published,) = bridge.peer.publish(order, [(sku.sku_id, 2, sku.product_id)])
    answer = bridge.answer_of(order)
    show_exchange(published, answer)

    assert answer.topic == bridge.wire(ANSWERS)
    assert answer.decode_error is None and answer.accepted, answer.order_service
    assert answer.event_type == "OnInventoryDeductSuccess"
    assert answer.payload == {
        "OrderId": order,
        "Sku": [{"Id": sku.sku_id, "Quantity": 2, "Stock": 8, "Threshold": 3}],
    }
    header = answer.header or {}
    assert header["Pkey"] == str(order) and header["Event-Type"] == "OnInventoryDeductSuccess"
    assert header["Content-Type"] == "application/grpc+proto"
    assert header["Micro-Topic"] == bridge.wire(ANSWERS)
    assert header["Event_id"] == event_id("InventoryDeducted", order)
    assert answer.record_headers == {}, "Dapr's publish metadata leaked into Kafka headers"
    assert world.stock(sku.sku_id) == 8
    assert json.loads(published["value"])["Header"]["Pkey"] == str(order)


def test_a_refused_order_goes_where_the_order_service_reverts_the_payment(
    bridge: Legacy,
) -> None:
    world = bridge.world
    sku = world.new_sku(stock=1)
    order = world.new_order_id()

    (published,) = bridge.peer.publish(order, [(sku.sku_id, 5, sku.product_id)])
    answer = bridge.answer_of(order)
    show_exchange(published, answer)

    assert answer.topic == bridge.wire(REFUSALS)
    assert answer.event_type == "OnPaymentSuccessDLQ" and answer.accepted, answer.order_service
    assert (answer.header or {})["Event-Type"] == "OnPaymentSuccessDLQ"
    assert answer.payload == {
        "OrderId": order,
        "OrderDetails": [{"product_id": sku.product_id, "sku_id": sku.sku_id, "quantity": 5}],
    }
    assert world.stock(sku.sku_id) == 1


def test_the_same_record_twice_deducts_once_and_answers_once(bridge: Legacy) -> None:
    world = bridge.world
    sku = world.new_sku(stock=10)
    order = world.new_order_id()
    duplicates = metric(world.product, "product_duplicates_total", operation="deduct")

    bridge.peer.publish(order, [(sku.sku_id, 3, sku.product_id)], times=2)

    bridge.answer_of(order)
    eventually(lambda: _grew(world, "product_duplicates_total", duplicates, operation="deduct"), 60)
    eventually(lambda: _all_published(world, order), 30)
    assert bridge.answer_of(order).payload["Sku"][0]["Stock"] == 7  # type: ignore[index]
    assert world.stock(sku.sku_id) == 7
    assert [delta for _, _, delta in world.ledger(order)] == [-3]


def test_a_malformed_record_is_dead_lettered_with_its_reason(bridge: Legacy) -> None:
    world = bridge.world
    marker = f"not a go-micro record {uuid.uuid4()}"

    bridge.peer.publish_raw(bridge.wire(PAYMENTS), marker)

    def recorded() -> dict[str, Any]:
        letters = _dead_letters(world, bridge.wire(PAYMENTS))
        [letter] = [d for d in letters if marker in d["payload"]]
        return letter

    letter = eventually(recorded, 90)
    assert letter["reason"] == "MALFORMED_PAYLOAD", letter


def test_other_event_types_on_the_shared_topic_are_ignored_and_counted(bridge: Legacy) -> None:
    world = bridge.world
    labels = {"topic": bridge.wire(PAYMENTS), "event_type": "OnOrderCreated"}
    before = metric(world.product, "product_legacy_ignored_total", **labels)
    body = legacy.BaseEvent(timestamp=int(time.time() * 1000), event_type="OnOrderCreated")
    value = json.dumps(
        {
            "Header": {"Content-Type": "application/grpc+proto", "Event-Type": "OnOrderCreated"},
            "Body": base64.b64encode(body.SerializeToString()).decode(),
        }
    )

    bridge.peer.publish_raw(bridge.wire(PAYMENTS), value)

    eventually(lambda: _grew(world, "product_legacy_ignored_total", before, **labels), 60)
    assert not [
        d for d in _dead_letters(world, bridge.wire(PAYMENTS)) if "OnOrderCreated" in d["payload"]
    ]


def test_a_success_sent_back_on_product_event_dlq_reverts_the_order_once(bridge: Legacy) -> None:
    world = bridge.world
    sku = world.new_sku(stock=10)
    order = world.new_order_id()
    bridge.peer.publish(order, [(sku.sku_id, 2, sku.product_id)])
    answer = bridge.answer_of(order)
    reverts = metric(world.product, "product_duplicates_total", operation="revert")

    for _ in range(2):  # order v7's dead-letter handler sends it to ProductEventDLQ; again
        republished = bridge.peer.reject(value=answer.value, topic=bridge.wire(ANSWERS))
        assert republished is not None and republished["topic"] == bridge.wire(REJECTIONS)

    def given_back() -> None:
        assert world.stock(sku.sku_id) == 10
        assert sorted(delta for _, _, delta in world.ledger(order)) == [-2, 2]

    eventually(given_back, 60)
    eventually(lambda: _grew(world, "product_duplicates_total", reverts, operation="revert"), 60)
    given_back()


def test_the_cloudevents_contract_works_beside_the_bridge_at_the_same_time(
    bridge: Legacy,
) -> None:
    world = bridge.world
    sku = world.new_sku(stock=100)
    legacy_orders = [world.new_order_id() for _ in range(10)]
    contract_orders = [world.new_order_id() for _ in range(10)]

    def through_the_bridge() -> None:
        for order in legacy_orders:
            bridge.peer.publish(order, [(sku.sku_id, 1, sku.product_id)])

    def through_the_contract() -> None:
        for order in contract_orders:
            world.pay(order, [(sku, 1)])

    with ThreadPoolExecutor(2) as both:
        sent = [both.submit(through_the_bridge), both.submit(through_the_contract)]
        for future in sent:
            future.result()

    for order in legacy_orders:
        assert bridge.answer_of(order).event_type == "OnInventoryDeductSuccess"
    for order in contract_orders:
        assert world.wait_outcome(order, timeout=60).topic == DEDUCTED
    assert world.stock(sku.sku_id) == 80


def show_exchange(published: dict[str, Any], answer: Record) -> None:
    """What went over the wire, for the reader of a failure (pytest -rP shows it always)."""
    print("the peer published on", published["topic"], ":", published["value"])
    print("the service answered on", answer.topic, ":", answer.value)
    print(
        "the peer decoded:",
        json.dumps(
            {
                "event_type": answer.event_type,
                "payload": answer.payload,
                "order_service": answer.order_service,
            }
        ),
    )


def _grew(world: World, name: str, before: float, **labels: str) -> None:
    now = metric(world.product, name, **labels)
    assert now > before, f"{name}{labels} still {now}"


def _all_published(world: World, order_id: int) -> None:
    rows = world.outbox(order_id)
    assert rows and all(published for _, _, published in rows), rows


def _dead_letters(world: World, topic: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"http://127.0.0.1:{world.product.http_port}/dead-letters",
        params={"topic": topic, "limit": 1000},
        headers=world.product.operator_headers(),
        timeout=10,
    )
    response.raise_for_status()
    letters: list[dict[str, Any]] = response.json()["dead_letters"]
    return letters
