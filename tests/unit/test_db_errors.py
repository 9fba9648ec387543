"""Database errors are sorted into retry-later and give-up, by error number, not by class."""

from __future__ import annotations

import sqlite3

import pymysql
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from product_service.application.errors import StoreRejected, TransientError
from product_service.infrastructure.db.errors import translate_errors


def mysql_error(kind: type[Exception], number: int, message: str) -> Exception:
    orig = kind(number, message)
    wrapper = IntegrityError if issubclass(kind, pymysql.err.IntegrityError) else OperationalError
    return wrapper("UPDATE skus ...", {}, orig)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (1213, "Deadlock found"),
        (1205, "Lock wait timeout exceeded"),
        (2003, "Can't connect"),
        (2013, "Lost connection to MySQL server during query"),
        (1040, "Too many connections"),
    ],
)
def test_deadlocks_timeouts_and_lost_connections_are_worth_a_retry(
    number: int, message: str
) -> None:
    with pytest.raises(TransientError), translate_errors():
        raise mysql_error(pymysql.err.OperationalError, number, message)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (4025, "CONSTRAINT `ck_skus_stock_not_negative` failed"),
        (1690, "BIGINT UNSIGNED value is out of range"),
        (1406, "Data too long for column"),
    ],
)
def test_refusals_that_a_retry_cannot_fix_are_not_transient(number: int, message: str) -> None:
    with pytest.raises(StoreRejected), translate_errors():
        raise mysql_error(pymysql.err.OperationalError, number, message)


def test_a_duplicate_key_passes_through_for_the_repository_to_interpret() -> None:
    with pytest.raises(IntegrityError), translate_errors():
        raise mysql_error(pymysql.err.IntegrityError, 1062, "Duplicate entry '1-DEDUCT'")


def test_a_foreign_key_or_check_violation_is_not_mistaken_for_a_duplicate() -> None:
    with pytest.raises(StoreRejected), translate_errors():
        raise mysql_error(pymysql.err.IntegrityError, 1452, "a foreign key constraint fails")
    with pytest.raises(StoreRejected), translate_errors():
        raise IntegrityError("UPDATE", {}, sqlite3.IntegrityError("CHECK constraint failed: stock"))


def test_a_locked_sqlite_database_is_worth_a_retry() -> None:
    with pytest.raises(TransientError), translate_errors():
        raise OperationalError(
            "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
        )
