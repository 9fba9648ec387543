"""Engine construction per dialect: SQLite for one writer at a time, MySQL at READ COMMITTED."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def build_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo)
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Conditional updates need no repeatable snapshot; READ COMMITTED avoids gap locks.
        isolation_level="READ COMMITTED",
    )


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
