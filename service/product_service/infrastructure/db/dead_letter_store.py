"""Dead letters in the database, and their replays through the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, update

from product_service.application.dead_letters import DeadLetterStore
from product_service.domain.dead_letters import DeadLetter, DeadLetterFilter, DeadLetterSeen
from product_service.infrastructure.db.errors import translate_errors
from product_service.infrastructure.db.repositories import naive_utc
from product_service.infrastructure.db.tables import (
    DEAD_LETTER_PAYLOAD_BYTES,
    dead_letter_replays,
    dead_letters,
    outbox,
)
from product_service.infrastructure.telemetry import current_traceparent

# Replay outbox rows get ids of their own (one per request and letter) in this namespace.
REPLAY_NAMESPACE = uuid.UUID("5b0c7f7e-1f4e-4c8e-9d0a-7d2f3f1f6a11")


class SqlDeadLetterStore(DeadLetterStore):
    def __init__(self, engine: Engine, raw_topics: frozenset[str] = frozenset()) -> None:
        self._engine = engine
        # Original topics whose messages are whole broker records (the legacy bridge's): their
        # replays are published raw, as they came.
        self._raw_topics = raw_topics

    def record(self, seen: DeadLetterSeen, at: datetime) -> tuple[DeadLetter, bool]:
        key = (dead_letters.c.original_topic == seen.original_topic) & (
            dead_letters.c.event_id == seen.event_id
        )
        with translate_errors(), self._engine.begin() as connection:
            again = connection.execute(
                update(dead_letters)
                .where(key)
                .values(last_seen_at=naive_utc(at), times_seen=dead_letters.c.times_seen + 1)
            ).rowcount
            if not again:
                connection.execute(insert(dead_letters).values(**_new_row(seen, at)))
            row = connection.execute(select(dead_letters).where(key)).one()
        return _dead_letter(row), not again

    def find(self, which: DeadLetterFilter) -> list[DeadLetter]:
        columns = dead_letters.c
        conditions = [columns.id > which.after_id]
        if which.topic:
            conditions.append(columns.original_topic == which.topic)
        if which.reason:
            conditions.append(columns.reason == which.reason)
        if which.since:
            conditions.append(columns.first_seen_at >= naive_utc(which.since))
        if which.until:
            conditions.append(columns.first_seen_at < naive_utc(which.until))
        if not which.include_discarded:
            conditions.append(columns.discarded_at.is_(None))
        statement = select(dead_letters).where(*conditions).order_by(columns.id).limit(which.limit)
        with translate_errors(), self._engine.connect() as connection:
            return [_dead_letter(row) for row in connection.execute(statement)]

    def get_many(self, ids: Sequence[int]) -> dict[int, DeadLetter]:
        statement = select(dead_letters).where(dead_letters.c.id.in_(list(ids)))
        with translate_errors(), self._engine.connect() as connection:
            return {row.id: _dead_letter(row) for row in connection.execute(statement)}

    def replay(
        self, letters: Sequence[DeadLetter], request_id: str, by: str, at: datetime
    ) -> list[int]:
        if not letters:
            return []
        with translate_errors(), self._engine.begin() as connection:
            done = _replayed_by(connection, request_id, [letter.id for letter in letters])
            fresh = [letter for letter in letters if letter.id not in done]
            for letter in fresh:
                event_id = str(uuid.uuid5(REPLAY_NAMESPACE, f"{request_id}/{letter.id}"))
                row = _outbox_row(letter, event_id, at, letter.original_topic in self._raw_topics)
                connection.execute(insert(outbox).values(**row))
                connection.execute(
                    insert(dead_letter_replays).values(
                        dead_letter_id=letter.id,
                        request_id=request_id,
                        replayed_by=by,
                        replayed_at=naive_utc(at),
                        outbox_event_id=event_id,
                    )
                )
        return [letter.id for letter in fresh]

    def discard(self, ids: Sequence[int], at: datetime) -> list[int]:
        columns = dead_letters.c
        which = columns.id.in_(list(ids)) & columns.discarded_at.is_(None)
        with translate_errors(), self._engine.begin() as connection:
            found = [row.id for row in connection.execute(select(columns.id).where(which))]
            connection.execute(update(dead_letters).where(which).values(discarded_at=naive_utc(at)))
        return found

    def replays_by_topic(self) -> dict[str, int]:
        statement = (
            select(dead_letters.c.original_topic, func.count(dead_letter_replays.c.id))
            .join(dead_letters, dead_letters.c.id == dead_letter_replays.c.dead_letter_id)
            .group_by(dead_letters.c.original_topic)
        )
        with translate_errors(), self._engine.connect() as connection:
            return {topic: int(count) for topic, count in connection.execute(statement)}


def _replayed_by(connection: Connection, request_id: str, ids: list[int]) -> set[int]:
    columns = dead_letter_replays.c
    statement = select(columns.dead_letter_id).where(
        columns.request_id == request_id, columns.dead_letter_id.in_(ids)
    )
    return {row.dead_letter_id for row in connection.execute(statement)}


def _new_row(seen: DeadLetterSeen, at: datetime) -> dict[str, Any]:
    return {
        "topic": seen.topic,
        "original_topic": seen.original_topic,
        "event_id": seen.event_id,
        "order_id": seen.order_id,
        "reason": seen.reason[:64],
        "detail": seen.detail[:500],
        "payload": seen.payload[:DEAD_LETTER_PAYLOAD_BYTES],
        "payload_size": len(seen.payload),
        "content_type": seen.content_type[:100],
        "first_seen_at": naive_utc(at),
        "last_seen_at": naive_utc(at),
        "times_seen": 1,
    }


def _outbox_row(letter: DeadLetter, event_id: str, at: datetime, raw: bool) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "topic": letter.original_topic,
        # Keyed by order id like every event of the order; a payload without one by its id.
        "message_key": str(letter.order_id if letter.order_id is not None else letter.event_id)[
            :64
        ],
        "payload": letter.payload.decode(),
        "trace_context": current_traceparent(),
        "created_at": naive_utc(at),
        "message_id": letter.event_id,
        "raw_payload": raw,
    }


def _dead_letter(row: Row[Any]) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        topic=row.topic,
        original_topic=row.original_topic,
        event_id=row.event_id,
        order_id=row.order_id,
        reason=row.reason,
        detail=row.detail,
        payload=bytes(row.payload),
        payload_size=row.payload_size,
        content_type=row.content_type,
        first_seen_at=_utc(row.first_seen_at),
        last_seen_at=_utc(row.last_seen_at),
        times_seen=row.times_seen,
        discarded_at=_utc(row.discarded_at) if row.discarded_at else None,
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)
