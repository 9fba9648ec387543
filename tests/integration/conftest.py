"""Real databases for integration tests: SQLite in a temporary file and MariaDB from scripts/infra.

Every test that takes `engine` runs once per dialect. MariaDB comes from `scripts/infra up mariadb`;
when it is not reachable the MariaDB variants skip, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from product_service.application.service import InventoryService
from product_service.bootstrap import Adapters, build_runtime
from product_service.infrastructure.db import migrate
from product_service.infrastructure.db.engine import build_engine
from product_service.infrastructure.db.tables import metadata
from product_service.infrastructure.settings import Settings
from tests.ci import answering

MARIADB_URL = os.environ.get(
    "PRODUCT_TEST_MYSQL_URL", "mysql+pymysql://product:product@127.0.0.1:3306/product_test"
)


def _mariadb_or_skip() -> Engine:
    return answering(build_engine(MARIADB_URL, pool_size=12), MARIADB_URL)


@pytest.fixture(scope="session")
def mariadb_engine() -> Iterator[Engine]:
    engine = _mariadb_or_skip()
    drop_all_tables(engine)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def drop_all_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def empty_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(params=["sqlite", "mariadb"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        sqlite = build_engine(f"sqlite:///{tmp_path / 'test.db'}")
        migrate.upgrade(sqlite)
        yield sqlite
        sqlite.dispose()
    else:
        shared: Engine = request.getfixturevalue("mariadb_engine")
        empty_tables(shared)
        yield shared


@pytest.fixture
def settings(engine: Engine) -> Settings:
    url = engine.url.render_as_string(hide_password=False)
    return Settings(database_url=url, lock_store_name="")  # no sidecar: no lock store


@pytest.fixture
def inventory(engine: Engine, settings: Settings) -> InventoryService:
    return build_runtime(settings, Adapters(engine=engine)).inventory


def run_cli(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {"PRODUCT_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "product_service.interfaces.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.fixture(params=["sqlite", "mariadb"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database without tables."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/cli.db"
        return
    engine: Engine = request.getfixturevalue("mariadb_engine")
    drop_all_tables(engine)
    yield MARIADB_URL
    migrate.upgrade(engine)  # the other MariaDB tests expect the schema


@pytest.fixture
def migrated(empty_database: str) -> str:
    assert run_cli(empty_database, "db", "upgrade").returncode == 0
    return empty_database
