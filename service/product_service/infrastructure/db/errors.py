"""Database errors sorted into what the application understands: retry later, or give up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError

from product_service.application.errors import StoreRejected, TransientError
from product_service.infrastructure.metrics import DATABASE_ERRORS

# MySQL / MariaDB error numbers after which the same statement can succeed later.
TRANSIENT_MYSQL_ERRORS = frozenset(
    {
        1040,  # too many connections
        1045,  # access denied: a credentials problem; messages must wait, not be dropped
        1049,  # unknown database: a deployment problem, same reasoning
        1053,  # server shutdown in progress
        1205,  # lock wait timeout
        1213,  # deadlock found; the transaction was rolled back
        1317,  # query interrupted
        1927,  # connection killed (MariaDB)
        2002,  # cannot connect through socket
        2003,  # cannot connect to server
        2006,  # server has gone away
        2013,  # lost connection during query
        4031,  # disconnected by the server for inactivity
    }
)
DUPLICATE_KEY = 1062
_TRANSIENT_SQLITE_MESSAGES = ("database is locked", "database is busy", "unable to open database")


def error_number(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_transient(exc: DBAPIError) -> bool:
    if exc.connection_invalidated or error_number(exc) in TRANSIENT_MYSQL_ERRORS:
        return True
    message = str(exc.orig).lower()
    return any(fragment in message for fragment in _TRANSIENT_SQLITE_MESSAGES)


def is_duplicate_key(exc: IntegrityError) -> bool:
    """A unique or primary key violation, as opposed to a CHECK, NOT NULL or foreign key one."""
    if error_number(exc) == DUPLICATE_KEY:
        return True
    return "UNIQUE constraint failed" in str(exc.orig)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Transient database errors become TransientError, other refusals StoreRejected.

    A duplicate key passes through as IntegrityError: the repository that issued the statement
    knows what it means ("already recorded", "code taken").
    """
    try:
        yield
    except IntegrityError as exc:
        if is_duplicate_key(exc):
            raise
        DATABASE_ERRORS.labels("rejected").inc()
        raise StoreRejected(f"{exc.orig!r}") from exc
    except DBAPIError as exc:
        if is_transient(exc):
            DATABASE_ERRORS.labels("transient").inc()
            raise TransientError(f"database unavailable or busy: {exc.orig!r}") from exc
        DATABASE_ERRORS.labels("rejected").inc()
        raise StoreRejected(f"{exc.orig!r}") from exc
