"""Dead letters on real databases: recorded once, counted again, replayed through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from product_service.domain.dead_letters import RETRIES_EXHAUSTED, DeadLetterFilter, DeadLetterSeen
from product_service.infrastructure.db.dead_letter_store import SqlDeadLetterStore
from product_service.infrastructure.db.tables import DEAD_LETTER_PAYLOAD_BYTES, outbox

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def seen(event_id: str, payload: bytes = b'{"OrderId": "41"}', **changes: object) -> DeadLetterSeen:
    fields: dict[str, object] = {
        "topic": "OnPaymentSuccess.dead-letter",
        "original_topic": "OnPaymentSuccess",
        "event_id": event_id,
        "order_id": 41,
        "reason": RETRIES_EXHAUSTED,
        "detail": "answered RETRY until the sidecar's retries ran out",
        "payload": payload,
        "content_type": "application/json",
    }
    fields.update(changes)
    return DeadLetterSeen(**fields)  # type: ignore[arg-type]


def test_a_dead_letter_is_recorded_once_and_counted_each_time_it_comes_back(
    engine: Engine,
) -> None:
    store = SqlDeadLetterStore(engine)

    first, new = store.record(seen("ce-1"), NOW)
    again, new_again = store.record(seen("ce-1"), NOW + timedelta(minutes=5))
    other_topic, _ = store.record(seen("ce-1", original_topic="OnInventoryDeductSuccessDLQ"), NOW)

    assert (new, new_again) == (True, False)
    assert again.id == first.id != other_topic.id
    assert (again.times_seen, again.first_seen_at, again.last_seen_at) == (
        2,
        NOW,
        NOW + timedelta(minutes=5),
    )
    assert again.payload == b'{"OrderId": "41"}' and not again.truncated


def test_a_large_payload_is_kept_truncated_with_its_size(engine: Engine) -> None:
    store = SqlDeadLetterStore(engine)
    payload = b"x" * (DEAD_LETTER_PAYLOAD_BYTES + 10)

    letter, _ = store.record(seen("big", payload, order_id=None, reason="TOO_LARGE"), NOW)

    assert (len(letter.payload), letter.payload_size, letter.truncated) == (
        DEAD_LETTER_PAYLOAD_BYTES,
        len(payload),
        True,
    )


def test_dead_letters_are_found_by_topic_reason_and_time_in_pages(engine: Engine) -> None:
    store = SqlDeadLetterStore(engine)
    ids = []
    for n in range(4):
        reason = "INVALID_JSON" if n == 3 else RETRIES_EXHAUSTED
        ids.append(store.record(seen(f"ce-{n}", reason=reason), NOW + timedelta(minutes=n))[0].id)
    assert store.discard([ids[0], ids[0]], NOW) == [ids[0]]

    retried = store.find(DeadLetterFilter(reason=RETRIES_EXHAUSTED))
    later = store.find(DeadLetterFilter(since=NOW + timedelta(minutes=2)))
    page = store.find(DeadLetterFilter(include_discarded=True, after_id=ids[0], limit=2))

    assert [d.event_id for d in retried] == ["ce-1", "ce-2"]
    assert [d.event_id for d in later] == ["ce-2", "ce-3"]
    assert [d.event_id for d in page] == ["ce-1", "ce-2"]
    assert store.find(DeadLetterFilter(topic="elsewhere")) == []


def test_a_replay_writes_each_letter_to_the_outbox_once_per_request(engine: Engine) -> None:
    store = SqlDeadLetterStore(engine)
    letter, _ = store.record(seen("ce-7"), NOW)

    assert store.replay([letter], "request-1", "ops", NOW) == [letter.id]
    assert store.replay([letter], "request-1", "ops", NOW) == []
    assert store.replay([letter], "request-2", "ops", NOW) == [letter.id]

    with engine.connect() as connection:
        rows = connection.execute(select(outbox).order_by(outbox.c.id)).all()
    assert [(r.topic, r.message_key, r.payload, r.message_id) for r in rows] == [
        ("OnPaymentSuccess", "41", '{"OrderId": "41"}', "ce-7"),
        ("OnPaymentSuccess", "41", '{"OrderId": "41"}', "ce-7"),
    ]
    assert rows[0].event_id != rows[1].event_id  # an outbox row of its own per request
    assert store.replays_by_topic() == {"OnPaymentSuccess": 2}


def test_a_legacy_dead_letter_is_replayed_raw_and_a_contract_one_is_not(engine: Engine) -> None:
    store = SqlDeadLetterStore(engine, raw_topics=frozenset({"OrderEvent"}))
    record = b'{"Header":{"Pkey":"41"},"Body":"CAE="}'
    legacy, _ = store.record(seen("ev-1", record, original_topic="OrderEvent"), NOW)
    contract, _ = store.record(seen("ce-8"), NOW)

    store.replay([legacy, contract], "request-1", "ops", NOW)

    with engine.connect() as connection:
        rows = connection.execute(select(outbox).order_by(outbox.c.id)).all()
    assert [(r.topic, r.payload, r.raw_payload) for r in rows] == [
        ("OrderEvent", record.decode(), True),
        ("OnPaymentSuccess", '{"OrderId": "41"}', False),
    ]
