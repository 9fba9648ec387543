"""The `product-service` command as an operator runs it, on SQLite and on MariaDB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from product_service.infrastructure.db import migrate
from tests.integration.conftest import run_cli

HEAD = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cli.db"


def test_db_upgrade_reports_the_revision_and_is_repeatable(empty_database: str) -> None:
    first = run_cli(empty_database, "db", "upgrade")
    second = run_cli(empty_database, "db", "upgrade")
    assert first.returncode == second.returncode == 0
    assert f"at revision {HEAD}" in second.stdout
    assert f"current {HEAD}, newest {HEAD}" in run_cli(empty_database, "db", "current").stdout


def test_commands_on_an_unmigrated_database_say_to_run_db_upgrade(empty_database: str) -> None:
    result = run_cli(empty_database, "stock", "ANY")
    assert result.returncode == 1
    assert "run `product-service db upgrade` first" in result.stderr


def test_seed_is_idempotent(migrated: str) -> None:
    first = run_cli(migrated, "seed")
    second = run_cli(migrated, "seed")
    assert first.returncode == second.returncode == 0
    assert first.stdout.count("created product") == 3
    assert second.stdout.count("kept existing product") == 3
    assert "SHOE-TRAIL-42    id=1      stock=50" in second.stdout


def test_an_operator_deducts_reverts_and_reads_an_order(migrated: str) -> None:
    run_cli(migrated, "seed")
    assert "SUCCEEDED" in run_cli(migrated, "deduct", "500", "1:2", "6:1").stdout
    assert "already decided" in run_cli(migrated, "deduct", "500", "1:2", "6:1").stdout
    assert "INSUFFICIENT_STOCK" in run_cli(migrated, "deduct", "501", "3:6").stdout
    assert "stock=48" in run_cli(migrated, "stock", "SHOE-TRAIL-42").stdout
    run_cli(migrated, "revert", "500")
    record = run_cli(migrated, "order", "500").stdout
    assert "DEDUCT SUCCEEDED" in record and "REVERT SUCCEEDED" in record
    assert "stock=50" in run_cli(migrated, "stock", "SHOE-TRAIL-42").stdout
    assert run_cli(migrated, "reconcile").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deduct", "0", "1:1"), "INVALID_ID"),
        (("deduct", "5", "1:0"), "INVALID_QUANTITY"),
        (("adjust", "1", "-1000", "count"), "INSUFFICIENT_STOCK"),
        (("order", "999"), "ORDER_NOT_FOUND"),
        (("stock", "NOPE"), "UNKNOWN_SKU"),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message(
    migrated: str, args: tuple[str, ...], message: str
) -> None:
    run_cli(migrated, "seed")
    result = run_cli(migrated, *args)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("PRODUCT_MAX_ORDER_LINES", "many", "max_order_lines"),
        ("PRODUCT_DATABASE_URL", "postgresql://x/y", "database_url"),
        ("PRODUCT_LOG_LEVEL", "LOUD", "log_level"),
    ],
)
def test_invalid_settings_exit_2_naming_the_setting(
    tmp_path: Path, name: str, value: str, field: str
) -> None:
    result = run_cli(sqlite_url(tmp_path), "db", "current", env={name: value})
    assert result.returncode == 2
    assert "invalid settings" in result.stderr and field in result.stderr


def test_the_password_never_appears_in_messages(tmp_path: Path) -> None:
    url = "mysql+pymysql://product:s3cret-pass@127.0.0.1:1/product"
    result = run_cli(sqlite_url(tmp_path), "stock", "X", env={"PRODUCT_DATABASE_URL": url})
    assert result.returncode == 3
    assert "s3cret-pass" not in result.stderr + result.stdout


def test_db_upgrade_loads_neither_the_dapr_sdk_nor_the_web_server(tmp_path: Path) -> None:
    """`db upgrade` runs in init containers and jobs without a sidecar."""
    probe = (
        "import sys\n"
        "from product_service.interfaces.cli import main\n"
        "code = main(['db', 'upgrade'])\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'dapr', 'uvicorn', 'fastapi'})\n"
        "print('loaded', loaded)\n"
        "sys.exit(code)\n"
    )
    environment = {"PRODUCT_DATABASE_URL": sqlite_url(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "loaded []"
