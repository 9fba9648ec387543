"""Dead letters: recorded from the dead-letter topics over the app channel, replayed by rule."""

from __future__ import annotations

import json
import threading

import grpc
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from product_service.application.dead_letters import DeadLetters
from product_service.contract.product.v1 import product_service_pb2 as pb
from product_service.domain.dead_letters import RETRIES_EXHAUSTED, DeadLetterSeen
from product_service.infrastructure.outbox_gauges import register_replays
from product_service.infrastructure.settings import Settings
from tests.app_channel import Channel, Status, deliver, payment, running_channel
from tests.factories import product_with
from tests.fakes import FixedClock, MemoryDeadLetterStore

PAYMENTS_DEAD = "OnPaymentSuccess.dead-letter"
MAX = Settings().max_message_bytes


def test_a_malformed_payment_is_recorded_once_with_the_reason_it_was_dropped(
    channel: Channel,
) -> None:
    bad = b'{"OrderId": "17", "OrderDetails": "none"}'

    assert deliver(channel, PAYMENTS_DEAD, bad, message_id="ce-1") == Status.SUCCESS
    assert deliver(channel, PAYMENTS_DEAD, bad, message_id="ce-1") == Status.SUCCESS

    (letter,) = channel.store.dead_letters.letters.values()
    assert (letter.original_topic, letter.event_id, letter.order_id) == (
        "OnPaymentSuccess",
        "ce-1",
        17,
    )
    assert letter.reason not in ("", RETRIES_EXHAUSTED)
    assert (letter.payload, letter.times_seen) == (bad, 2)


def test_a_valid_payment_in_the_dead_letters_ran_out_of_retries(channel: Channel) -> None:
    assert deliver(channel, PAYMENTS_DEAD, payment(18, 1, 1), message_id="ce-2") == Status.SUCCESS

    (letter,) = channel.store.dead_letters.letters.values()
    assert (letter.reason, letter.order_id) == (RETRIES_EXHAUSTED, 18)


def test_an_oversized_payment_is_dropped_unparsed_and_recorded_truncated(
    channel: Channel,
) -> None:
    sku = channel.inventory.create_product(product_with(5)).skus[0]
    padded = json.loads(payment(19, sku.id, 1))
    padded["padding"] = "x" * MAX
    data = json.dumps(padded).encode()

    assert deliver(channel, "OnPaymentSuccess", data) == Status.DROP
    assert deliver(channel, PAYMENTS_DEAD, data, message_id="m-1") == Status.SUCCESS

    assert channel.inventory.sku(sku.id).stock == 5
    (letter,) = channel.store.dead_letters.letters.values()
    assert (letter.reason, letter.payload_size, letter.truncated) == ("TOO_LARGE", len(data), True)


def test_an_oversized_api_request_is_refused_as_too_large(channel: Channel) -> None:
    request = pb.CreateProductRequest(name="x" * MAX)

    with pytest.raises(grpc.RpcError) as refused:
        channel.api.CreateProduct(request)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith("TOO_LARGE")


def test_a_dead_letter_waits_for_the_database_then_stays_with_the_broker() -> None:
    with running_channel(Settings(dead_letter_patience_seconds=1)) as channel:
        channel.store.dead_letters.reachable = False

        assert deliver(channel, PAYMENTS_DEAD, payment(20, 1, 1)) == Status.RETRY
        assert channel.store.dead_letters.letters == {}


def test_a_dead_letter_is_recorded_once_the_database_is_back() -> None:
    with running_channel(Settings(dead_letter_patience_seconds=30)) as channel:
        letters = channel.store.dead_letters
        letters.reachable = False
        threading.Timer(1.0, lambda: setattr(letters, "reachable", True)).start()

        assert deliver(channel, PAYMENTS_DEAD, payment(21, 1, 1)) == Status.SUCCESS
        assert [letter.order_id for letter in letters.letters.values()] == [21]


def seen(event_id: str, payload: bytes = b'{"OrderId": "5"}') -> DeadLetterSeen:
    return DeadLetterSeen(
        PAYMENTS_DEAD, "OnPaymentSuccess", event_id, 5, RETRIES_EXHAUSTED, "", payload, ""
    )


def test_a_replay_request_replays_each_letter_once_under_its_original_id() -> None:
    store = MemoryDeadLetterStore()
    letters = DeadLetters(store, FixedClock())
    first, _ = letters.record(seen("ce-a"))
    second, _ = letters.record(seen("ce-b"))

    report = letters.replay([first.id, second.id, 99], "request-1", "ops")
    again = letters.replay([first.id], "request-1", "ops")
    later = letters.replay([first.id], "request-2", "ops")

    assert (sorted(report.replayed), report.refused) == ([1, 2], {99: "no such dead letter"})
    assert (again.replayed, again.already_replayed) == ([], [first.id])
    assert later.replayed == [first.id]
    assert store.outbox == [
        ("OnPaymentSuccess", "ce-a", b'{"OrderId": "5"}'),
        ("OnPaymentSuccess", "ce-b", b'{"OrderId": "5"}'),
        ("OnPaymentSuccess", "ce-a", b'{"OrderId": "5"}'),
    ]


def test_truncated_discarded_and_binary_letters_are_not_replayed() -> None:
    store = MemoryDeadLetterStore()
    letters = DeadLetters(store, FixedClock())
    truncated, _ = letters.record(seen("big", b"x" * (MAX + 1)))
    discarded, _ = letters.record(seen("gone"))
    binary, _ = letters.record(seen("bin", b"\xff\xfe"))
    assert letters.discard([discarded.id, discarded.id]) == [discarded.id]

    report = letters.replay([truncated.id, discarded.id, binary.id], "request-3", "ops")

    assert report.replayed == [] and store.outbox == []
    assert report.refused[discarded.id] == "discarded"
    assert "bytes were kept" in report.refused[truncated.id]
    assert "not text" in report.refused[binary.id]


def test_replays_are_counted_from_the_database_when_scraped() -> None:
    registry = CollectorRegistry()
    register_replays(registry, lambda: {"OnPaymentSuccess": 3})

    scraped = generate_latest(registry).decode()

    assert 'product_dead_letter_replays_total{topic="OnPaymentSuccess"} 3.0' in scraped
