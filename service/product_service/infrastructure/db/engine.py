"""Engine construction per dialect: SQLite for one writer at a time, MySQL at READ COMMITTED."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError


def build_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    ping_after_idle_seconds: float | None = None,  # None: PING_AFTER_IDLE_SECONDS
) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo)
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        # Conditional updates need no repeatable snapshot; READ COMMITTED avoids gap locks.
        isolation_level="READ COMMITTED",
    )
    idle = PING_AFTER_IDLE_SECONDS if ping_after_idle_seconds is None else ping_after_idle_seconds
    _ping_when_idle(engine, idle)
    return engine


# A pooled connection unused for this long is pinged before it is handed out. SQLAlchemy's
# pool_pre_ping pings on every checkout: a round trip per transaction, three per lone order
# (its transaction, the relay's check, the relay's mark), which is what a busy pool never needs.
PING_AFTER_IDLE_SECONDS = 2.0


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling for connections that sat in the pool: a dead one is
    discarded and the pool hands out a fresh one (SQLAlchemy retries a checkout on
    DisconnectionError). A connection that dies while in use fails its statement, and the
    database error makes the pool replace every connection older than the failure."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except (engine.dialect.loaded_dbapi.Error, OSError) as exc:
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc
        if not alive:
            raise DisconnectionError("pooled connection did not answer a ping")


_IDLE_SINCE = "product_idle_since"


def _sqlite_engine(url: str, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (needed for savepoints).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if database and database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        # Take the write lock up front: two readers upgrading to writers would deadlock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def database_key(url: str) -> str:
    """A short stable name of the database `url` points at (host, port, database; no user or
    password): what a once-per-database job's lease is named after, so that two deployments
    sharing a lock store and an app id do not share a lease."""
    parsed = make_url(url)
    where = (
        f"{parsed.get_backend_name()}://{parsed.host or ''}:{parsed.port or ''}/{parsed.database}"
    )
    return hashlib.sha256(where.encode()).hexdigest()[:12]
