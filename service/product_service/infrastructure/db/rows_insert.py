"""INSERT of many rows the way the driver takes them: positional tuples through the DB-API's
executemany (PyMySQL sends one multi-row INSERT), the statement text and the columns' bind
processors prepared once per dialect.

SQLAlchemy's executemany builds a parameter dictionary per row and runs each value through its
compiled-parameter machinery on every call; for a bulk delivery's ledger, inbox and outbox
rows (five rows per order) that was a fifth of the app's time per order (issue 16's profile).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any] | None
PLACEHOLDERS = {"format": "%s", "pyformat": "%s", "qmark": "?"}


class RowsInsert:
    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self._prepared: dict[str, tuple[str, list[Processor]]] = {}

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Inserts `rows`, each a tuple of values in the order of `columns`."""
        if not rows:
            return
        sql, processors = self._prepare(connection.dialect)
        if any(processors):
            rows = [
                tuple(v if p is None else p(v) for p, v in zip(processors, row, strict=True))
                for row in rows
            ]
        connection.exec_driver_sql(sql, list(rows))

    def _prepare(self, dialect: Dialect) -> tuple[str, list[Processor]]:
        prepared = self._prepared.get(dialect.name)
        if prepared is not None:
            return prepared
        placeholder = PLACEHOLDERS[dialect.paramstyle]
        preparer = dialect.identifier_preparer
        names = ", ".join(preparer.quote(name) for name in self.columns)
        marks = ", ".join([placeholder] * len(self.columns))
        sql = f"INSERT INTO {preparer.format_table(self.table)} ({names}) VALUES ({marks})"
        processors: list[Processor] = [
            self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.columns
        ]
        self._prepared[dialect.name] = (sql, processors)
        return sql, processors
