"""Retention on a real database: what is past its keeping time goes, in small transactions,
only on the replica holding the lease; what is still needed stays.

Each test takes its retention job from the composition root, as `serve` does; rows are written
through the use cases by runtimes whose clocks stand at the moment the test wants.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import Engine, event, func, insert, select, update

from product_service.application.ports import Lease
from product_service.bootstrap import Adapters, Runtime, build_runtime
from product_service.domain.dead_letters import DeadLetterSeen
from product_service.infrastructure.db.dead_letter_store import SqlDeadLetterStore
from product_service.infrastructure.db.retention_store import Retained, SqlRetentionStore
from product_service.infrastructure.db.tables import (
    dead_letter_replays,
    dead_letters,
    inbox,
    outbox,
    stock_ledger,
)
from product_service.infrastructure.retention import Policy, RetentionJob
from product_service.infrastructure.settings import Settings
from tests.factories import order, product_with
from tests.fakes import FixedClock

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def runtime_at(moment: datetime, engine: Engine, settings: Settings, **adapters: Any) -> Runtime:
    """The service as `serve` builds it, on the test's database, its clock at `moment`."""
    return build_runtime(settings, Adapters(engine=engine, clock=FixedClock(moment), **adapters))


def decide_at(moment: datetime, engine: Engine, settings: Settings, order_id: int) -> int:
    """Deducts one unit for `order_id` at `moment` from a new SKU; its outcome published then
    too. Returns the SKU id."""
    inventory = runtime_at(moment, engine, settings).inventory
    sku = inventory.create_product(product_with(5)).skus[0]
    inventory.deduct(order(order_id, (sku.id, 1)))
    publish(engine, order_id, moment)
    return sku.id


def publish(engine: Engine, order_id: int, moment: datetime) -> None:
    statement = (
        update(outbox)
        .where(outbox.c.message_key == str(order_id))
        .values(published_at=moment.replace(tzinfo=None))
    )
    with engine.begin() as connection:
        connection.execute(statement)


def orders_in_inbox(engine: Engine) -> set[int]:
    with engine.connect() as connection:
        return set(connection.execute(select(inbox.c.order_id)).scalars())


def orders_in_outbox(engine: Engine) -> set[int]:
    with engine.connect() as connection:
        return {int(key) for key in connection.execute(select(outbox.c.message_key)).scalars()}


def ledger_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(stock_ledger)).scalar_one())


def old_published_outbox_rows(engine: Engine, count: int, moment: datetime) -> None:
    at = moment.replace(tzinfo=None)
    rows = [
        {
            "event_id": str(uuid.uuid4()),
            "topic": "OnInventoryDeductSuccess",
            "message_key": str(key),
            "payload": "{}",
            "created_at": at,
            "published_at": at,
        }
        for key in range(count)
    ]
    with engine.begin() as connection:
        connection.execute(insert(outbox), rows)


@contextmanager
def statements_and_commits(engine: Engine) -> Iterator[list[str]]:
    """Records, in order, each DELETE on the outbox (with the rows it deleted) and each commit."""
    seen: list[str] = []

    def after_execute(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM OUTBOX"):
            seen.append(f"delete {cursor.rowcount}")

    def commit(_conn: Any) -> None:
        seen.append("commit")

    event.listen(engine, "after_cursor_execute", after_execute)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", after_execute)
        event.remove(engine, "commit", commit)


class HeldElsewhere(Lease):
    """Another replica holds the lease; counts the attempts."""

    def __init__(self) -> None:
        self.attempts = 0
        self.tried_twice = threading.Event()

    def held(self) -> bool:
        self.attempts += 1
        if self.attempts >= 2:
            self.tried_twice.set()
        return False


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_rows_past_retention_are_deleted_and_younger_ones_kept(
    engine: Engine, settings: Settings
) -> None:
    decide_at(NOW - timedelta(days=40), engine, settings, 1)  # past both retentions
    decide_at(NOW - timedelta(days=10), engine, settings, 2)  # outbox row past 7 days only
    decide_at(NOW - timedelta(days=1), engine, settings, 3)  # inside both
    ledger_before = ledger_rows(engine)
    deleted_before = sample("product_retention_deleted_total", table="inbox")
    runtime = runtime_at(NOW, engine, settings)

    assert runtime.retention.run_once()

    assert orders_in_inbox(engine) == {2, 3}
    assert orders_in_outbox(engine) == {3}
    assert ledger_rows(engine) == ledger_before  # the ledger is never purged
    assert runtime.inventory.ledger_mismatches() == {}
    assert sample("product_retention_deleted_total", table="inbox") == deleted_before + 1
    last_run = sample("product_retention_last_run_timestamp_seconds")
    assert NOW.timestamp() <= last_run < NOW.timestamp() + 60
    oldest_inbox_age = sample("product_retention_oldest_kept_seconds", table="inbox")
    assert abs(timedelta(seconds=oldest_inbox_age) - timedelta(days=10)) < timedelta(minutes=1)


def test_unpublished_outbox_rows_stay_however_old(engine: Engine, settings: Settings) -> None:
    inventory = runtime_at(NOW - timedelta(days=400), engine, settings).inventory
    sku = inventory.create_product(product_with(5)).skus[0]
    inventory.deduct(order(7, (sku.id, 1)))  # committed, never published

    assert runtime_at(NOW, engine, settings).retention.run_once()

    assert orders_in_outbox(engine) == {7}


def test_a_redelivery_inside_the_inbox_window_still_changes_nothing(
    engine: Engine, settings: Settings
) -> None:
    sku_id = decide_at(NOW - timedelta(days=20), engine, settings, 11)
    runtime = runtime_at(NOW, engine, settings)
    assert runtime.retention.run_once()
    assert orders_in_outbox(engine) == set()  # its published outcome is gone, its inbox row not
    ledger_before = ledger_rows(engine)

    again = runtime.inventory.deduct(order(11, (sku_id, 1)))

    assert again.duplicate
    assert runtime.inventory.sku(sku_id).stock == 4
    assert ledger_rows(engine) == ledger_before
    assert orders_in_outbox(engine) == set()


def test_a_backlog_larger_than_a_batch_goes_in_several_short_transactions(
    engine: Engine, settings: Settings
) -> None:
    old_published_outbox_rows(engine, 1200, NOW - timedelta(days=8))
    chunked = settings.model_copy(update={"retention_batch_size": 500})
    retention = runtime_at(NOW, engine, chunked).retention

    with statements_and_commits(engine) as seen:
        assert retention.run_once()

    deletes = [(i, step) for i, step in enumerate(seen) if step.startswith("delete")]
    assert [step for _, step in deletes] == ["delete 500", "delete 500", "delete 200"]
    assert all(seen[i + 1] == "commit" for i, _ in deletes)  # one transaction each
    assert orders_in_outbox(engine) == set()


def test_a_pass_stops_at_its_time_budget_and_the_next_one_goes_on(engine: Engine) -> None:
    old_published_outbox_rows(engine, 1200, NOW - timedelta(days=8))
    outbox_only = Retained(outbox, outbox.c.published_at, "outbox_retention")
    retention = RetentionJob(
        SqlRetentionStore(engine),
        HeldElsewhere(),  # not used by run_once
        FixedClock(NOW),
        [Policy(outbox_only, timedelta(days=7))],
        batch_size=500,
        budget_seconds=0,  # spent after the first batch
    )

    assert [retention.run_once() for _ in range(3)] == [False, False, True]
    assert orders_in_outbox(engine) == set()


def test_nothing_is_deleted_while_another_replica_holds_the_lease(
    engine: Engine, settings: Settings
) -> None:
    decide_at(NOW - timedelta(days=40), engine, settings, 21)
    lease = HeldElsewhere()
    often = settings.model_copy(update={"retention_interval": timedelta(milliseconds=10)})
    retention = runtime_at(NOW, engine, often, retention_lease=lease).retention

    with statements_and_commits(engine) as seen:
        retention.start()
        assert lease.tried_twice.wait(timeout=10)
        retention.stop()

    assert seen == []
    assert orders_in_inbox(engine) == {21} and orders_in_outbox(engine) == {21}


def test_dead_letters_past_their_retention_go_with_their_replays(
    engine: Engine, settings: Settings
) -> None:
    store = SqlDeadLetterStore(engine)
    seen = [NOW - timedelta(days=days) for days in (20, 15, 13, 1)]
    letters = [store.record(dead_letter(f"ce-{n}"), at)[0] for n, at in enumerate(seen)]
    store.replay(letters[:1], "request-1", "ops", seen[0])

    assert runtime_at(NOW, engine, settings).retention.run_once()  # 14 days by default

    with engine.connect() as connection:
        kept = connection.execute(select(dead_letters.c.event_id)).scalars().all()
        replays = connection.execute(select(func.count()).select_from(dead_letter_replays))
        assert replays.scalar_one() == 0
    assert sorted(kept) == ["ce-2", "ce-3"]  # 13 days and 1 day old


def dead_letter(event_id: str) -> DeadLetterSeen:
    return DeadLetterSeen(
        "OnPaymentSuccess.dead-letter", "OnPaymentSuccess", event_id, 7, "X", "", b"{}", ""
    )
