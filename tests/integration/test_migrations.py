"""Alembic migrations build the schema from empty, on SQLite and MariaDB alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from product_service.application.errors import StoreRejected
from product_service.infrastructure.db import migrate
from product_service.infrastructure.db.engine import build_engine
from product_service.infrastructure.db.tables import metadata

SKU = "INSERT INTO skus (product_id, code, price, stock) VALUES (:p, :code, 1, :stock)"
LEDGER = "INSERT INTO stock_ledger (sku_id, kind, delta, created_at) VALUES (:s, 'INITIAL', 4, :t)"


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


def test_the_sku_version_column_goes_and_comes_back_with_every_row_and_constraint(
    engine: Engine,
) -> None:
    migrate.downgrade(engine, "0001")
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO products (name, created_at) VALUES ('p', '2026-01-01')")
            )
            product_id = connection.execute(text("SELECT max(id) FROM products")).scalar()
            connection.execute(text(SKU), {"p": product_id, "code": "MIG", "stock": 4})
            sku_id = connection.execute(text("SELECT id FROM skus WHERE code = 'MIG'")).scalar()
            connection.execute(text(LEDGER), {"s": sku_id, "t": "2026-01-01"})

        migrate.upgrade(engine, "0002")  # SQLite copies the table the ledger references
        assert "version" not in sku_columns(engine)
        assert stock_and_ledger(engine, sku_id) == (4, 1)
        refuses_an_orphan_ledger_row(engine)  # foreign keys are on again (SQLite)

        migrate.downgrade(engine, "0001")
        assert "version" in sku_columns(engine)
        assert stock_and_ledger(engine, sku_id) == (4, 1)
    finally:
        migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_a_migration_on_sqlite_does_not_commit_broken_foreign_keys(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'orphans.db'}")
    migrate.upgrade(engine, "0001")
    with engine.connect() as connection:  # an orphan row, as if foreign keys had been off
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA foreign_keys=OFF")
        connection.execute(text(LEDGER), {"s": 10**9, "t": "2026-01-01"})
        connection.commit()
        driver.execute("PRAGMA foreign_keys=ON")

    with pytest.raises(StoreRejected, match="foreign keys"):
        migrate.upgrade(engine)
    assert migrate.current_revision(engine) == "0001"
    engine.dispose()


def sku_columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("skus")}


def stock_and_ledger(engine: Engine, sku_id: int) -> tuple[int, int]:
    with engine.connect() as connection:
        stock = connection.execute(text("SELECT stock FROM skus WHERE id = :s"), {"s": sku_id})
        entries = connection.execute(
            text("SELECT count(*) FROM stock_ledger WHERE sku_id = :s"), {"s": sku_id}
        )
        return stock.scalar_one(), entries.scalar_one()


def refuses_an_orphan_ledger_row(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(LEDGER), {"s": 10**9, "t": "2026-01-01"})


OUTBOX_ROW = (
    "INSERT INTO outbox (event_id, topic, message_key, payload, created_at) "
    "VALUES (:e, 'T', '1', '{}', '2026-01-01')"
)


def test_outbox_rows_written_before_0004_are_cloud_events(engine: Engine) -> None:
    migrate.downgrade(engine, "0003")
    try:
        with engine.begin() as connection:
            connection.execute(text(OUTBOX_ROW), {"e": "before-0004"})
        migrate.upgrade(engine, "0004")
        with engine.connect() as connection:
            raw = connection.execute(text("SELECT raw_payload FROM outbox")).scalar_one()
        assert raw in (False, 0)
    finally:
        migrate.upgrade(engine)


def test_0004_is_not_undone_while_a_raw_row_waits_to_be_published(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(OUTBOX_ROW), {"e": "raw-1"})
        connection.execute(text("UPDATE outbox SET raw_payload = :t"), {"t": True})

    with pytest.raises(RuntimeError, match="unpublished legacy"):
        migrate.downgrade(engine, "0003")
    assert migrate.current_revision(engine) == migrate.head_revision(engine)

    with engine.begin() as connection:
        connection.execute(text("UPDATE outbox SET published_at = '2026-01-02'"))
    migrate.downgrade(engine, "0003")
    assert "raw_payload" not in {c["name"] for c in inspect(engine).get_columns("outbox")}
    migrate.upgrade(engine)
