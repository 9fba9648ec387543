"""Alembic migrations build the schema from empty, on SQLite and MariaDB alike."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from product_service.infrastructure.db import migrate
from product_service.infrastructure.db.tables import metadata


def test_migrations_go_down_to_empty_and_up_to_the_newest_schema(engine: Engine) -> None:
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= tables
    unique = {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("inbox")}
    assert ("order_id", "operation") in unique


def test_the_stock_check_refuses_negative_stock(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO products (name, created_at) VALUES ('p', '2026-01-01')")
        )
        product_id = connection.execute(text("SELECT max(id) FROM products")).scalar()
        connection.execute(
            text("INSERT INTO skus (product_id, code, price, stock) VALUES (:p, 'CHK', 1, 0)"),
            {"p": product_id},
        )
    # MySQL refuses negative unsigned values before the CHECK does; either is a refusal.
    with pytest.raises((IntegrityError, OperationalError, DataError)), engine.begin() as connection:
        connection.execute(text("UPDATE skus SET stock = -1 WHERE code = 'CHK'"))
