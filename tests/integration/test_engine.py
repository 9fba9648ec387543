"""MariaDB connections that died while idle in the pool are replaced before anyone uses them;
busy connections are not pinged (the round trip is what the pool saves)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from product_service.infrastructure.db.engine import build_engine
from tests.integration.conftest import MARIADB_URL


def connection_id(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT CONNECTION_ID()")).scalar_one())


def killed_while_idle(engine: Engine, killer: Engine) -> int:
    """The id of the pooled connection, which the server has since killed."""
    pooled = connection_id(engine)
    with killer.connect() as connection:
        connection.execute(text(f"KILL {pooled}"))
    return pooled


@pytest.fixture
def killer(mariadb_engine: Engine) -> Engine:
    return mariadb_engine


def test_a_connection_killed_while_idle_is_replaced_at_checkout(killer: Engine) -> None:
    engine = build_engine(MARIADB_URL, pool_size=1, ping_after_idle_seconds=0.2)
    try:
        dead = killed_while_idle(engine, killer)
        time.sleep(0.3)
        assert connection_id(engine) != dead
    finally:
        engine.dispose()


def test_a_connection_back_in_use_at_once_is_not_pinged(killer: Engine) -> None:
    engine = build_engine(MARIADB_URL, pool_size=1, ping_after_idle_seconds=60)
    try:
        killed_while_idle(engine, killer)
        # Unpinged, the dead connection fails its statement; the pool then replaces it.
        with pytest.raises(OperationalError):
            connection_id(engine)
        assert connection_id(engine) > 0
    finally:
        engine.dispose()
