"""The `product-service` command on a real SQLite file, as an operator would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {"PRODUCT_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "PATH": "/usr/bin:/bin"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "product_service.interfaces.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    assert run_cli(tmp_path, "db", "upgrade").returncode == 0
    return tmp_path


def test_db_upgrade_reports_the_revision_and_is_repeatable(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "db", "upgrade")
    second = run_cli(tmp_path, "db", "upgrade")
    assert first.returncode == second.returncode == 0
    assert "at revision 0001" in second.stdout
    assert "current 0001, newest 0001" in run_cli(tmp_path, "db", "current").stdout


def test_commands_on_an_unmigrated_database_say_to_run_db_upgrade(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "stock", "ANY")
    assert result.returncode == 1
    assert "run `product-service db upgrade` first" in result.stderr


def test_seed_is_idempotent(migrated: Path) -> None:
    first = run_cli(migrated, "seed")
    second = run_cli(migrated, "seed")
    assert first.returncode == second.returncode == 0
    assert first.stdout.count("created product") == 3
    assert second.stdout.count("kept existing product") == 3
    assert "SHOE-TRAIL-42    id=1      stock=50" in second.stdout


def test_an_operator_deducts_reverts_and_reads_an_order(migrated: Path) -> None:
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
    migrated: Path, args: tuple[str, ...], message: str
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
    result = run_cli(tmp_path, "db", "current", env={name: value})
    assert result.returncode == 2
    assert "invalid settings" in result.stderr and field in result.stderr


def test_the_password_never_appears_in_messages(tmp_path: Path) -> None:
    url = "mysql+pymysql://product:s3cret-pass@127.0.0.1:1/product"
    result = run_cli(tmp_path, "stock", "X", env={"PRODUCT_DATABASE_URL": url})
    assert result.returncode == 3
    assert "s3cret-pass" not in result.stderr + result.stdout
