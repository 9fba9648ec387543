"""The SQLAlchemy unit of work: one connection, one transaction, database errors translated."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Executable
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import DBAPIError

from product_service.application.ports import UnitOfWork
from product_service.infrastructure.db import repositories
from product_service.infrastructure.db.errors import translate_errors
from product_service.infrastructure.db.rows_insert import RowsInsert
from product_service.infrastructure.outbox_codec import EventSerializer
from product_service.infrastructure.written_messages import WrittenMessages


class SqlAlchemyUnitOfWork(UnitOfWork):
    def __init__(
        self, engine: Engine, serializer: EventSerializer, written: WrittenMessages | None = None
    ) -> None:
        self._engine = engine
        self._serializer = serializer
        self._written = written
        self._connection: Connection | None = None

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        with translate_errors():
            self._connection = self._engine.connect()
            self._connection.begin()
        self.skus = repositories.SqlSkuRepository(self.execute)
        self.products = repositories.SqlProductRepository(self.execute)
        self.ledger = repositories.SqlLedger(self.execute, self.insert_rows)
        self.inbox = repositories.SqlInbox(self.execute, self.insert_rows)
        wrote = self._written.wrote if self._written is not None else None
        self.outbox = repositories.SqlOutbox(
            self.execute, self.insert_rows, self._serializer, wrote
        )
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def execute(self, statement: Executable, params: Any = None) -> CursorResult[Any]:
        assert self._connection is not None, "use the unit of work inside a `with` block"
        with translate_errors():
            return self._connection.execute(statement, params)

    def insert_rows(self, statement: RowsInsert, rows: Sequence[tuple[Any, ...]]) -> None:
        assert self._connection is not None, "use the unit of work inside a `with` block"
        with translate_errors():
            statement.execute(self._connection, rows)

    def commit(self) -> None:
        assert self._connection is not None
        with translate_errors():
            self._connection.commit()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        assert self._connection is not None, "use the unit of work inside a `with` block"
        with translate_errors():
            nested = self._connection.begin_nested()
        try:
            yield
        except BaseException:
            with translate_errors():
                nested.rollback()
            raise
        with translate_errors():
            nested.commit()

    def rollback(self) -> None:
        if self._connection is not None and self._connection.in_transaction():
            try:
                self._connection.rollback()
            except DBAPIError:
                # The connection is gone: the server already rolled the transaction back.
                self._connection.invalidate()


def uow_factory(
    engine: Engine, serializer: EventSerializer, written: WrittenMessages | None = None
) -> Callable[[], SqlAlchemyUnitOfWork]:
    return lambda: SqlAlchemyUnitOfWork(engine, serializer, written)
