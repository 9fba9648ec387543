"""INSERT of many rows the way the driver takes them cheapest: positional tuples, the statement
text and the columns' bind processors prepared once per dialect.

SQLAlchemy's executemany builds a parameter dictionary per row and runs each value through its
compiled-parameter machinery on every call; for a bulk delivery's ledger, inbox and outbox rows
(five rows per order) that was a fifth of the app's time per order (issue 16's profile). What
was left was PyMySQL's executemany escaping every value through four calls: at 40 orders per
delivery, 1.2 ms for the ledger rows alone. On PyMySQL the rows are therefore rendered here into
one multi-row INSERT, each value escaped by the driver's own `escape` (what its executemany
calls), whole numbers written as they are, and a value that repeats (the time, the kind, the
topic) escaped once per statement. Other drivers (SQLite) get the DB-API's executemany.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any] | None
Escape = Callable[[Any], str]
PLACEHOLDERS = {"format": "%s", "pyformat": "%s", "qmark": "?"}
# A rendered statement is cut into pieces of at most this many characters (PyMySQL cuts its
# executemany at 1,024,000 bytes; MariaDB's max_allowed_packet is 16 MiB by default).
MAX_STATEMENT_CHARS = 500_000
NO_PARAMETERS = {"no_parameters": True}  # the text holds '%' of values: no %-formatting


class RowsInsert:
    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        # per dialect: "INSERT INTO t (a, b) VALUES ", "(%s, %s)", the columns' bind processors
        self._prepared: dict[str, tuple[str, str, list[Processor]]] = {}

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Inserts `rows`, each a tuple of values in the order of `columns`."""
        if not rows:
            return
        head, marks, processors = self._prepare(connection.dialect)
        if any(processors):
            rows = [
                tuple(v if p is None else p(v) for p, v in zip(processors, row, strict=True))
                for row in rows
            ]
        escape = _driver_escape(connection)
        if escape is None:
            connection.exec_driver_sql(head + marks, list(rows))
            return
        for statement in rendered(head, rows, escape):
            connection.exec_driver_sql(statement, execution_options=NO_PARAMETERS)

    def _prepare(self, dialect: Dialect) -> tuple[str, str, list[Processor]]:
        prepared = self._prepared.get(dialect.name)
        if prepared is not None:
            return prepared
        placeholder = PLACEHOLDERS[dialect.paramstyle]
        preparer = dialect.identifier_preparer
        names = ", ".join(preparer.quote(name) for name in self.columns)
        head = f"INSERT INTO {preparer.format_table(self.table)} ({names}) VALUES "
        marks = "(" + ", ".join([placeholder] * len(self.columns)) + ")"
        processors: list[Processor] = [
            self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.columns
        ]
        self._prepared[dialect.name] = (head, marks, processors)
        return head, marks, processors


def _driver_escape(connection: Connection) -> Escape | None:
    """PyMySQL's own escaping of one value (it honours the session's NO_BACKSLASH_ESCAPES), or
    None for a driver whose executemany is not pure Python."""
    if connection.dialect.driver != "pymysql":
        return None
    escape: Escape = connection.connection.driver_connection.escape  # type: ignore[union-attr]
    return escape


def rendered(head: str, rows: Sequence[tuple[Any, ...]], escape: Escape) -> Iterator[str]:
    """`head` ("INSERT INTO t (a, b) VALUES ") followed by the rows as literals, in statements
    of at most MAX_STATEMENT_CHARS (a row longer than that gets a statement of its own)."""
    escaped: dict[tuple[type, Any], str] = {}  # a repeated value is escaped once

    def literal(value: Any) -> str:
        if type(value) is int:  # exactly int: bool and enum members go through escape
            return str(value)
        key = (type(value), value)
        text = escaped.get(key)
        if text is None:
            text = escaped[key] = escape(value)
        return text

    values: list[str] = []
    size = len(head)
    for row in rows:
        value = "(" + ", ".join([literal(v) for v in row]) + ")"
        if values and size + len(value) + 2 > MAX_STATEMENT_CHARS:
            yield head + ", ".join(values)
            values, size = [], len(head)
        values.append(value)
        size += len(value) + 2
    yield head + ", ".join(values)
