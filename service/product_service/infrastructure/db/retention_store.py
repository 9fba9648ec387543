"""What retention deletes, table by table, and the SQL that deletes it in small transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Engine, TableClause, delete, func, select

from product_service.infrastructure.db.errors import translate_errors
from product_service.infrastructure.db.repositories import naive_utc
from product_service.infrastructure.db.tables import dead_letters, inbox, outbox


@dataclass(frozen=True)
class Retained:
    """Rows of `table` whose `timestamp` is older than the Settings field `setting` says, and
    that meet `condition`, are deleted. The table needs an integer primary key `id`."""

    table: TableClause
    timestamp: ColumnElement[datetime]
    setting: str
    condition: ColumnElement[bool] | None = None

    @property
    def name(self) -> str:
        return self.table.name


# Never the ledger (stock_ledger), nor products or SKUs: only what expires is listed here.
RETAINED = (
    # Unpublished rows are never deleted, however old: the sweeper still owes their publish.
    Retained(outbox, outbox.c.published_at, "outbox_retention", outbox.c.published_at.is_not(None)),
    Retained(inbox, inbox.c.created_at, "inbox_retention"),
    Retained(dead_letters, dead_letters.c.first_seen_at, "dead_letter_retention"),
)


class SqlRetentionStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def delete_batch(self, retained: Retained, cutoff: datetime, limit: int) -> int:
        """Deletes up to `limit` rows older than `cutoff` in one short transaction, by primary
        key, so it locks those rows only; returns how many it deleted."""
        id_column = retained.table.c.id
        due = _due(retained, cutoff)
        with translate_errors(), self._engine.begin() as connection:
            ids = connection.execute(select(id_column).where(due).limit(limit)).scalars().all()
            if not ids:
                return 0
            deleted = connection.execute(delete(retained.table).where(id_column.in_(ids), due))
            return deleted.rowcount

    def oldest(self, retained: Retained) -> datetime | None:
        """The timestamp of the oldest row retention would delete once it is old enough."""
        statement = select(func.min(retained.timestamp))
        if retained.condition is not None:
            statement = statement.where(retained.condition)
        with translate_errors(), self._engine.connect() as connection:
            oldest = connection.execute(statement).scalar()
        return oldest.replace(tzinfo=UTC) if oldest else None


def _due(retained: Retained, cutoff: datetime) -> ColumnElement[bool]:
    older = retained.timestamp < naive_utc(cutoff)
    return older if retained.condition is None else older & retained.condition
