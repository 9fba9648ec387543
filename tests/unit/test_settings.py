"""Settings: durations as users write them, and the retention rule that keeps redeliveries safe."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from product_service.contract.legacy_wire import LegacyTopics
from product_service.infrastructure.db.retention_store import RETAINED
from product_service.infrastructure.settings import Settings
from product_service.interfaces.cli import EXIT_BAD_SETTINGS, main

ROOT = Path(__file__).resolve().parents[2]
RESILIENCY_FILES = [
    *sorted(ROOT.glob("components/*/shared/resiliency.yaml")),
    ROOT / "k8s/base/dapr/resiliency.yaml",
]


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("7d", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
        ("604800", timedelta(days=7)),
        ("P7D", timedelta(days=7)),
        ("PT12H", timedelta(hours=12)),
        (" 7D ", timedelta(days=7)),
    ],
)
def test_durations_are_read_as_users_write_them(written: str, meant: timedelta) -> None:
    assert Settings(outbox_retention=written).outbox_retention == meant  # type: ignore[arg-type]


@pytest.mark.parametrize("written", ["seven days", "7x", "1.5h", "", "0", "0s", "P0D"])
def test_a_duration_that_is_not_one_or_not_positive_is_refused(written: str) -> None:
    with pytest.raises(ValidationError, match="outbox_retention"):
        Settings(outbox_retention=written)  # type: ignore[arg-type]


def test_the_defaults_keep_the_inbox_longer_than_any_redelivery() -> None:
    settings = Settings()
    assert settings.inbox_retention == timedelta(days=30)
    assert settings.outbox_retention == timedelta(days=7)
    assert settings.dead_letter_retention == timedelta(days=14)
    assert settings.broker_retention == timedelta(days=7)


@pytest.mark.parametrize(
    "changed",
    [
        {"inbox_retention": "7d"},  # no longer than the broker keeps messages
        {"inbox_retention": "14d"},  # a dead letter replayed on its last day
        {"inbox_retention": "14d15m"},  # ... and then retried by the sidecar: equal is not enough
        {"broker_retention": "30d"},
        {"dead_letter_retention": "30d"},
        {"redelivery_horizon": "16d"},
    ],
)
def test_an_inbox_that_could_forget_an_order_before_its_last_redelivery_is_refused(
    changed: dict[str, str],
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**changed)  # type: ignore[arg-type]

    message = str(refused.value)
    assert "PRODUCT_INBOX_RETENTION" in message
    assert "would deduct a second time" in message
    assert "Set PRODUCT_INBOX_RETENTION above" in message


def test_the_message_says_how_long_the_inbox_must_keep_rows() -> None:
    with pytest.raises(ValidationError, match=r"above 21d15m"):
        Settings(dead_letter_retention="21d", inbox_retention="21d")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changed",
    [
        {"inbox_retention": "14d16m"},
        {"dead_letter_retention": "3d", "inbox_retention": "8d"},
        {"broker_retention": "1d", "dead_letter_retention": "1d", "inbox_retention": "2d"},
    ],
)
def test_an_inbox_outliving_every_redelivery_is_accepted(changed: dict[str, str]) -> None:
    Settings(**changed)  # type: ignore[arg-type]


def test_the_cli_refuses_such_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRODUCT_INBOX_RETENTION", "7d")

    assert main(["db", "current"]) == EXIT_BAD_SETTINGS
    assert "PRODUCT_INBOX_RETENTION (7d) must exceed" in capsys.readouterr().err


def worst_case_redelivery(retry: dict[str, object]) -> timedelta:
    """Dapr's exponential policy: from 0.5 s, times 1.5 each retry up to maxInterval, each
    interval up to 1.5 times longer with jitter."""
    assert retry["policy"] == "exponential"
    cap = float(str(retry["maxInterval"]).removesuffix("s"))
    retries = int(str(retry["maxRetries"]))
    assert retries >= 0, "retrying forever has no horizon"
    return timedelta(seconds=sum(1.5 * min(0.5 * 1.5**n, cap) for n in range(retries)))


@pytest.mark.parametrize("path", RESILIENCY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_default_redelivery_horizon_covers_the_shipped_retry_policy(path: Path) -> None:
    policy = yaml.safe_load(path.read_text())["spec"]["policies"]["retries"]["inbound"]

    assert worst_case_redelivery(policy) < Settings().redelivery_horizon / 2


def test_a_guessable_http_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="http_token"):
        Settings(http_token="letmein")  # type: ignore[arg-type]
    assert Settings(http_token="x" * 32).http_token is not None
    assert Settings().http_token is None


def test_every_retained_table_names_a_duration_setting_and_the_ledger_none() -> None:
    fields = Settings.model_fields
    assert all(fields[entry.setting].annotation is timedelta for entry in RETAINED)
    assert {entry.name for entry in RETAINED} == {"outbox", "inbox", "dead_letters"}
    dead_letters = next(entry for entry in RETAINED if entry.name == "dead_letters")
    assert (dead_letters.timestamp.name, dead_letters.setting) == (
        "first_seen_at",
        "dead_letter_retention",
    )


# The legacy bridge (docs/migration.md).
RENAMED_CONTRACT = {
    "topic_payment_succeeded": "product.OnPaymentSuccess",
    "topic_deduct_succeeded": "product.OnInventoryDeductSuccess",
    "topic_deduct_rejected": "product.OnInventoryDeductSuccessDLQ",
}


def test_the_legacy_bridge_is_off_unless_asked_for() -> None:
    assert (Settings().legacy_wire, Settings().legacy_topics) == ("off", None)


def test_each_era_has_the_topic_names_of_its_go_order_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRODUCT_LEGACY_WIRE", "v7")
    assert Settings().legacy_topics == LegacyTopics(
        "OrderEvent", "ProductEvent", "OrderEventDLQ", "ProductEventDLQ"
    )
    bare = Settings(legacy_wire="bare", **RENAMED_CONTRACT)
    assert bare.legacy_topics == LegacyTopics(
        "OnPaymentSuccess",
        "OnInventoryDeductSuccess",
        "OnPaymentSuccessDLQ",
        "OnInventoryDeductSuccessDLQ",
    )


def test_a_legacy_topic_can_be_renamed_alone() -> None:
    settings = Settings(legacy_wire="v7", legacy_topic_payment_succeeded="OrderEvent.eu")
    assert settings.legacy_topics == LegacyTopics(
        "OrderEvent.eu", "ProductEvent", "OrderEventDLQ", "ProductEventDLQ"
    )


def test_the_bare_era_asks_to_rename_the_contract_topics_it_shares() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(legacy_wire="bare")

    message = str(refused.value)
    for shared in ("PAYMENT_SUCCEEDED", "DEDUCT_SUCCEEDED", "DEDUCT_REJECTED"):
        assert f"PRODUCT_LEGACY_TOPIC_{shared}=" in message
        assert f"is also PRODUCT_TOPIC_{shared}" in message
    assert "rename the contract's topic" in message


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        (
            {"legacy_topic_deduct_refused": "OnInventoryDeductFailed"},
            "PRODUCT_LEGACY_TOPIC_DEDUCT_REFUSED=OnInventoryDeductFailed is also "
            "PRODUCT_TOPIC_DEDUCT_FAILED",
        ),
        (
            {"legacy_topic_payment_succeeded": "OnPaymentSuccess.dead-letter"},
            "is also PRODUCT_TOPIC_PAYMENT_SUCCEEDED + PRODUCT_DEAD_LETTER_SUFFIX",
        ),
        (
            {"legacy_topic_deduct_refused": "ProductEvent"},
            "PRODUCT_LEGACY_TOPIC_DEDUCT_REFUSED=ProductEvent is also "
            "PRODUCT_LEGACY_TOPIC_DEDUCT_SUCCEEDED",
        ),
        (
            {"dead_letter_suffix": "DLQ"},  # OrderEvent's dead letters would be OrderEventDLQ
            "PRODUCT_LEGACY_TOPIC_PAYMENT_SUCCEEDED + PRODUCT_DEAD_LETTER_SUFFIX=OrderEventDLQ "
            "is also PRODUCT_LEGACY_TOPIC_DEDUCT_REFUSED",
        ),
    ],
)
def test_a_topic_given_two_roles_is_refused_naming_both_settings(
    changed: dict[str, str], named: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(named)):
        Settings(legacy_wire="v7", **changed)  # type: ignore[arg-type]


def test_an_unknown_era_is_refused() -> None:
    with pytest.raises(ValidationError, match="legacy_wire"):
        Settings(legacy_wire="v8")  # type: ignore[arg-type]


def test_legacy_topics_are_not_checked_while_the_bridge_is_off() -> None:
    assert Settings(legacy_topic_payment_succeeded="OnPaymentSuccess").legacy_topics is None


def test_the_cli_refuses_a_bridge_sharing_the_contracts_topics(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRODUCT_LEGACY_WIRE", "bare")

    assert main(["db", "current"]) == EXIT_BAD_SETTINGS
    assert "is also PRODUCT_TOPIC_PAYMENT_SUCCEEDED" in capsys.readouterr().err
