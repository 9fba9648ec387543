"""The legacy bridge over the app channel (real in-process gRPC, in-memory adapters): what is
declared to daprd, and raw go-micro records delivered as daprd delivers them, decided by the
same use cases, inbox and answers as the CloudEvents contract."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.protobuf import empty_pb2
from prometheus_client import REGISTRY

from product_service.domain.errors import OrderNotFound
from product_service.domain.events import InventoryDeducted, InventoryDeductFailed
from product_service.domain.events import InventoryReverted as Reverted
from product_service.domain.model import Dialect, Operation, Outcome
from product_service.infrastructure.settings import Settings
from tests.app_channel import Channel, Status, deliver, deliver_raw, payment, running_channel
from tests.factories import product_with
from tests.legacy_records import bare_record, base_event, record, v7_record, v7_sent_back
from tests.unit.test_settings import RENAMED_CONTRACT

LEGACY = Dialect.LEGACY


@pytest.fixture
def legacy() -> Iterator[Channel]:
    with running_channel(Settings(legacy_wire="v7")) as running:
        yield running


def declared(channel: Channel) -> dict[str, tuple[str, dict[str, str]]]:
    """Each subscribed topic: its dead-letter topic and its subscription metadata."""
    answer = channel.daprd.ListTopicSubscriptions(empty_pb2.Empty())
    return {s.topic: (s.dead_letter_topic, dict(s.metadata)) for s in answer.subscriptions}


def test_the_legacy_topics_are_subscribed_raw_beside_the_contracts(legacy: Channel) -> None:
    raw = {"rawPayload": "true"}
    assert declared(legacy) == {
        "OnPaymentSuccess": ("OnPaymentSuccess.dead-letter", {}),
        "OnInventoryDeductSuccessDLQ": ("OnInventoryDeductSuccessDLQ.dead-letter", {}),
        "OrderEvent": ("OrderEvent.dead-letter", raw),
        "ProductEventDLQ": ("ProductEventDLQ.dead-letter", raw),
        "OnPaymentSuccess.dead-letter": ("", {}),
        "OnInventoryDeductSuccessDLQ.dead-letter": ("", {}),
        "OrderEvent.dead-letter": ("", raw),
        "ProductEventDLQ.dead-letter": ("", raw),
    }


def test_without_the_bridge_no_legacy_topic_is_subscribed(channel: Channel) -> None:
    assert not {"OrderEvent", "ProductEventDLQ"} & set(declared(channel))


def test_a_legacy_payment_is_deducted_and_its_outcome_told_in_the_legacy_dialect(
    legacy: Channel,
) -> None:
    a, b = legacy.inventory.create_product(product_with(5, 5)).skus

    assert deliver_raw(legacy, "OrderEvent", v7_record(7, (a.id, 2), (b.id, 1))) == Status.SUCCESS
    assert deliver_raw(legacy, "OrderEvent", v7_record(8, (a.id, 9))) == Status.SUCCESS

    assert [legacy.inventory.sku(a.id).stock, legacy.inventory.sku(b.id).stock] == [3, 4]
    success, refusal = legacy.store.state.outbox
    assert isinstance(success, InventoryDeducted) and success.dialect is LEGACY
    assert isinstance(refusal, InventoryDeductFailed) and refusal.dialect is LEGACY
    (record_7,) = legacy.inventory.order_record(7)
    assert (record_7.outcome, record_7.message_id) == (Outcome.SUCCEEDED, "go-event-7")


def test_a_legacy_payment_delivered_twice_is_decided_once(legacy: Channel) -> None:
    (sku,) = legacy.inventory.create_product(product_with(5)).skus
    paid = v7_record(7, (sku.id, 2))

    answers = [deliver_raw(legacy, "OrderEvent", paid) for _ in range(3)]

    assert answers == [Status.SUCCESS] * 3
    assert legacy.inventory.sku(sku.id).stock == 3
    assert len(legacy.store.state.outbox) == 1


def test_the_same_order_by_cloud_event_and_legacy_record_is_decided_once(legacy: Channel) -> None:
    (sku,) = legacy.inventory.create_product(product_with(5)).skus

    assert deliver(legacy, "OnPaymentSuccess", payment(7, sku.id, 2)) == Status.SUCCESS
    assert deliver_raw(legacy, "OrderEvent", v7_record(7, (sku.id, 2))) == Status.SUCCESS

    assert legacy.inventory.sku(sku.id).stock == 3
    (event,) = legacy.store.state.outbox
    assert event.dialect is Dialect.CONTRACT  # the first delivery decided, in its dialect


def ignored(topic: str, event_type: str) -> float:
    labels = {"topic": topic, "event_type": event_type}
    return REGISTRY.get_sample_value("product_legacy_ignored_total", labels) or 0.0


def test_another_event_type_on_order_event_is_acknowledged_counted_and_left_alone(
    legacy: Channel,
) -> None:
    (sku,) = legacy.inventory.create_product(product_with(5)).skus
    before = ignored("OrderEvent", "OnOrderCancelled")
    other = base_event("OnOrderCancelled", b"\x08\x07").SerializeToString()

    assert deliver_raw(legacy, "OrderEvent", record(other, 7)) == Status.SUCCESS

    assert ignored("OrderEvent", "OnOrderCancelled") == before + 1
    assert legacy.store.state.outbox == []
    with pytest.raises(OrderNotFound):
        legacy.inventory.order_record(7)


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b'{"Header": {}}',
        b'{"Header": {}, "Body": "***"}',
        record(b"\xff\xff\xff", 7),
        record(base_event("OnPaymentSuccess", b"\x08\x07").SerializeToString(), 7),  # no lines
        v7_record(0, (1, 1)),  # no order id
        v7_record(7, (1, 0)),  # quantity 0
    ],
    ids=["not-json", "no-body", "bad-base64", "bad-protobuf", "empty-order", "no-id", "qty-0"],
)
def test_a_malformed_legacy_record_is_dropped_and_changes_nothing(
    legacy: Channel, data: bytes
) -> None:
    (sku,) = legacy.inventory.create_product(product_with(5)).skus

    assert deliver_raw(legacy, "OrderEvent", data) == Status.DROP

    assert legacy.inventory.sku(sku.id).stock == 5 and legacy.store.state.outbox == []


def test_a_success_sent_back_on_product_event_dlq_is_reverted_exactly_once(
    legacy: Channel,
) -> None:
    (sku,) = legacy.inventory.create_product(product_with(5)).skus
    deliver_raw(legacy, "OrderEvent", v7_record(9, (sku.id, 2)))

    answers = [deliver_raw(legacy, "ProductEventDLQ", v7_sent_back(9, (sku.id, 2))) for _ in "ab"]

    assert answers == [Status.SUCCESS, Status.SUCCESS]
    assert legacy.inventory.sku(sku.id).stock == 5
    reverted = [e for e in legacy.store.state.outbox if isinstance(e, Reverted)]
    assert len(reverted) == 1 and reverted[0].dialect is LEGACY
    operations = {r.operation for r in legacy.inventory.order_record(9)}
    assert operations == {Operation.DEDUCT, Operation.REVERT}


def test_the_cloud_events_contract_is_unchanged_beside_the_bridge(legacy: Channel) -> None:
    (sku,) = legacy.inventory.create_product(product_with(5)).skus

    assert deliver(legacy, "OnPaymentSuccess", payment(11, sku.id, 1)) == Status.SUCCESS
    assert deliver(legacy, "OrderEvent", payment(12, sku.id, 1)) == Status.DROP  # not go-micro

    (event,) = legacy.store.state.outbox
    assert (event.order_id, event.dialect) == (11, Dialect.CONTRACT)


def test_a_legacy_dead_letter_is_recorded_once_with_its_reason_and_order(
    legacy: Channel,
) -> None:
    bad = record(b"\xff\xff\xff", 31)

    for _ in "ab":  # daprd gives each delivery a new random id
        assert deliver_raw(legacy, "OrderEvent.dead-letter", bad) == Status.SUCCESS

    (letter,) = legacy.store.dead_letters.letters.values()
    assert (letter.original_topic, letter.order_id, letter.reason) == (
        "OrderEvent",
        31,
        "MALFORMED_PAYLOAD",
    )
    assert (letter.event_id, letter.times_seen, letter.payload) == ("go-event-31", 2, bad)


def test_a_readable_legacy_dead_letter_ran_out_of_retries(legacy: Channel) -> None:
    assert deliver_raw(legacy, "ProductEventDLQ.dead-letter", v7_sent_back(32)) == Status.SUCCESS

    (letter,) = legacy.store.dead_letters.letters.values()
    assert (letter.original_topic, letter.order_id, letter.reason) == (
        "ProductEventDLQ",
        32,
        "RETRIES_EXHAUSTED",
    )


def test_a_dead_letter_without_header_is_known_by_its_payload(legacy: Channel) -> None:
    for data in (b'{"Body": 1}', b'{"Body": 1}', b'{"Body": 2}'):
        assert deliver_raw(legacy, "OrderEvent.dead-letter", data) == Status.SUCCESS

    first, second = legacy.store.dead_letters.letters.values()
    assert (first.times_seen, second.times_seen) == (2, 1)
    assert (first.order_id, first.reason) == (None, "MALFORMED_PAYLOAD")


def test_the_bare_era_deducts_from_its_own_topic() -> None:
    settings = Settings(legacy_wire="bare", **RENAMED_CONTRACT)
    with running_channel(settings) as bare:
        (sku,) = bare.inventory.create_product(product_with(5)).skus

        assert deliver_raw(bare, "OnPaymentSuccess", bare_record(7, (sku.id, 2))) == Status.SUCCESS
        assert deliver(bare, "product.OnPaymentSuccess", payment(8, sku.id, 1)) == Status.SUCCESS

        assert bare.inventory.sku(sku.id).stock == 2
        assert [e.dialect for e in bare.store.state.outbox] == [LEGACY, Dialect.CONTRACT]
