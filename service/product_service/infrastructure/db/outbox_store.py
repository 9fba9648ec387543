"""The relay's view of the outbox: committed rows not yet published, oldest first."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, bindparam, func, select, update

from product_service.infrastructure.db.errors import translate_errors
from product_service.infrastructure.db.repositories import naive_utc
from product_service.infrastructure.db.tables import outbox
from product_service.infrastructure.outbox_codec import OutboxMessage

# The relay's statements per delivery, built once (see repositories.LOCK_SKUS).
OTHERS_UNPUBLISHED_OF_KEYS = (
    select(outbox.c.id)
    .where(
        outbox.c.published_at.is_(None),
        outbox.c.message_key.in_(bindparam("keys", expanding=True)),
        outbox.c.event_id.not_in(bindparam("event_ids", expanding=True)),
    )
    .limit(1)
)
MARK_PUBLISHED = (
    update(outbox)
    .where(
        outbox.c.event_id.in_(bindparam("event_ids", expanding=True)),
        outbox.c.published_at.is_(None),
    )
    .values(published_at=bindparam("at"), attempts=outbox.c.attempts + 1)
)


@dataclass(frozen=True)
class Backlog:
    unpublished: int
    oldest_created_at: datetime | None


class SqlOutboxStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def unpublished_of_same_orders(self, event_ids: Collection[str]) -> list[OutboxMessage]:
        """The given events plus every older unpublished event of the same orders (keys), in
        commit order: a crash or another replica may have left an order's earlier event
        behind, and it must go out first."""
        if not event_ids:
            return []
        same_orders = (
            select(outbox.c.message_key)
            .where(outbox.c.event_id.in_(list(event_ids)))
            .scalar_subquery()
        )
        return self._select(outbox.c.message_key.in_(same_orders))

    def others_unpublished_of_same_orders(self, messages: Sequence[OutboxMessage]) -> bool:
        """Whether an unpublished event other than `messages` has the key of one of them: what
        decides if `messages` may go out as they are (event ids only are read, no payload)."""
        if not messages:
            return False
        keys, event_ids = sorted({m.key for m in messages}), [m.event_id for m in messages]
        with translate_errors(), self._engine.connect() as connection:
            found = connection.execute(
                OTHERS_UNPUBLISHED_OF_KEYS, {"keys": keys, "event_ids": event_ids}
            )
            return found.first() is not None

    def older_than(self, cutoff: datetime, limit: int) -> list[OutboxMessage]:
        """Unpublished rows committed before `cutoff`: what a crash left behind."""
        return self._select(outbox.c.created_at < naive_utc(cutoff), limit=limit)

    def mark_published(self, event_ids: Sequence[str], at: datetime) -> None:
        if not event_ids:
            return
        with translate_errors(), self._engine.begin() as connection:
            connection.execute(MARK_PUBLISHED, {"event_ids": list(event_ids), "at": naive_utc(at)})

    def count_failed_attempts(self, event_ids: Collection[str]) -> None:
        statement = (
            update(outbox)
            .where(outbox.c.event_id.in_(sorted(event_ids)))
            .values(attempts=outbox.c.attempts + 1)
        )
        with translate_errors(), self._engine.begin() as connection:
            connection.execute(statement)

    def backlog(self) -> Backlog:
        statement = select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.published_at.is_(None)
        )
        with translate_errors(), self._engine.connect() as connection:
            count, oldest = connection.execute(statement).one()
        return Backlog(int(count), oldest.replace(tzinfo=UTC) if oldest else None)

    def _select(self, condition: Any, limit: int | None = None) -> list[OutboxMessage]:
        statement = (
            select(outbox)
            .where(outbox.c.published_at.is_(None), condition)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with translate_errors(), self._engine.connect() as connection:
            return [_message(row) for row in connection.execute(statement)]


def _message(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        event_id=row.event_id,
        topic=row.topic,
        key=row.message_key,
        payload=row.payload,
        trace_context=row.trace_context,
        message_id=row.message_id,
        raw=row.raw_payload,
    )
