"""RowsInsert on real databases: what it writes reads back exactly, on MariaDB as PyMySQL's own
executemany would have written it, also when the rows need more than one statement."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from product_service.infrastructure.db import rows_insert
from product_service.infrastructure.db.rows_insert import RowsInsert, rendered
from product_service.infrastructure.db.tables import outbox

COLUMNS = ("event_id", "topic", "message_key", "payload", "trace_context", "created_at")
OUTBOX_ROWS = RowsInsert(outbox, (*COLUMNS, "raw_payload"))
AT = datetime(2026, 12, 2, 12, 0, 0, 123456)
AWKWARD = [
    "it's",
    'say "hi"',
    "back\\slash \\' \\\\",
    "100% %s %(x)s %%",
    "line\nbreak\ttab\r",
    "nul\x00byte",
    "ünïcødé 库存 🚀",
    "",
    "'; DROP TABLE outbox; --",
]


def awkward_rows() -> list[tuple[object, ...]]:
    return [
        (f"e-{n:03d}", "topic", f"{-n}", text, None if n % 2 else "00-trace", AT, n % 3 == 0)
        for n, text in enumerate(AWKWARD)
    ]


def written(engine: Engine) -> list[tuple[object, ...]]:
    columns = [outbox.c[name] for name in (*COLUMNS, "raw_payload")]
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(*columns).order_by(outbox.c.id))]


def test_awkward_values_read_back_exactly(engine: Engine) -> None:
    rows = awkward_rows()
    with engine.begin() as connection:
        OUTBOX_ROWS.execute(connection, rows)
    assert written(engine) == rows


def test_rows_beyond_one_statement_are_all_written_in_order(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows_insert, "MAX_STATEMENT_CHARS", 300)
    rows = [(f"e-{n:03d}", "topic", str(n), "x" * 50, None, AT, False) for n in range(40)]
    with engine.begin() as connection:
        OUTBOX_ROWS.execute(connection, rows)
    assert written(engine) == rows


def test_the_rendered_rows_are_what_pymysql_executemany_sends(mariadb_engine: Engine) -> None:
    rows = [row[:-1] + (1 if row[-1] else 0,) for row in awkward_rows()]  # as Boolean binds it
    head = "INSERT INTO outbox (...) VALUES "
    with mariadb_engine.connect() as connection:
        driver = connection.connection.driver_connection
        (statement,) = rendered(head, rows, driver.escape)  # type: ignore[union-attr]
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            marks = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
            expected = head + ", ".join(cursor.mogrify(marks, row) for row in rows)
    assert statement == expected
