"""`product-service dead-letters` as an operator runs it, on SQLite and on MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from product_service.domain.dead_letters import RETRIES_EXHAUSTED, DeadLetterSeen
from product_service.infrastructure.db.dead_letter_store import SqlDeadLetterStore
from product_service.infrastructure.db.engine import build_engine
from product_service.infrastructure.db.tables import outbox
from tests.integration.conftest import run_cli


def dead_letter(url: str, event_id: str, payload: bytes, reason: str) -> int:
    engine = build_engine(url)
    try:
        seen = DeadLetterSeen(
            "OnPaymentSuccess.dead-letter",
            "OnPaymentSuccess",
            event_id,
            51,
            reason,
            "",
            payload,
            "application/json",
        )
        return SqlDeadLetterStore(engine).record(seen, datetime.now(UTC))[0].id
    finally:
        engine.dispose()


def outbox_rows(url: str) -> list[tuple[str, str | None]]:
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(outbox.c.topic, outbox.c.message_id)).all()
        return [(row.topic, row.message_id) for row in rows]
    finally:
        engine.dispose()


def test_an_operator_lists_shows_replays_once_per_request_and_discards(migrated: str) -> None:
    good = dead_letter(migrated, "ce-good", b'{"OrderId": "51"}', RETRIES_EXHAUSTED)
    bad = dead_letter(migrated, "ce-bad", b"not json", "INVALID_JSON")

    listed = run_cli(migrated, "dead-letters", "list", "--reason", RETRIES_EXHAUSTED)
    shown = run_cli(migrated, "dead-letters", "show", str(bad))
    first = run_cli(migrated, "dead-letters", "replay", str(good), "--request-id", "r-1")
    again = run_cli(migrated, "dead-letters", "replay", str(good), "--request-id", "r-1")
    discarded = run_cli(migrated, "dead-letters", "discard", str(bad))
    refused = run_cli(migrated, "dead-letters", "replay", str(bad))

    assert listed.returncode == 0 and "1 dead letter(s)" in listed.stdout, listed.stderr
    assert "order=51" in listed.stdout and "ce-good" not in listed.stdout
    assert "INVALID_JSON" in shown.stdout and "not json" in shown.stdout
    assert first.returncode == 0 and f"replayed 1: {good}" in first.stdout, first.stderr
    assert f"already replayed by this request 1: {good}" in again.stdout
    assert f"discarded 1: {bad}" in discarded.stdout
    assert refused.returncode == 1 and f"not replayed {bad}: discarded" in refused.stdout
    assert outbox_rows(migrated) == [("OnPaymentSuccess", "ce-good")]


def test_replay_needs_ids_or_a_selection_and_bad_times_are_refused(migrated: str) -> None:
    nothing = run_cli(migrated, "dead-letters", "replay")
    bad_time = run_cli(migrated, "dead-letters", "list", "--since", "yesterday")

    assert nothing.returncode == 1 and "NOTHING_SELECTED" in nothing.stderr
    assert bad_time.returncode == 2 and "neither an ISO 8601 time" in bad_time.stderr
    assert outbox_rows(migrated) == []
