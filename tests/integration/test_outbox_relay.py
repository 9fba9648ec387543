"""Outbox relay and sweeper on a real database; a recording publisher stands in for Dapr.

Each test takes its relay and sweeper from the composition root, as `serve` does. The
`inventory` fixture plays a process that died (or another replica): it commits, never publishes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, select

from product_service.application.ports import Lease, SystemClock
from product_service.application.service import InventoryService
from product_service.bootstrap import Adapters, Runtime, build_runtime
from product_service.domain.commands import RevertInventory
from product_service.domain.model import Dialect
from product_service.infrastructure.dapr.publisher import PublishFailed
from product_service.infrastructure.db.tables import outbox
from product_service.infrastructure.outbox_codec import OutboxMessage
from product_service.infrastructure.settings import Settings
from tests.factories import order, product_with
from tests.fakes import FixedClock


class RecordingPublisher:
    """Accepts messages like a sidecar would; `failures` makes the next N calls fail, and
    `refuse` names order keys whose next bulk entry the sidecar refuses."""

    def __init__(self, failures: int = 0, refuse: set[str] | None = None) -> None:
        self.published: list[OutboxMessage] = []
        self.failures = failures
        self.refuse = refuse or set()
        self.attempts = 0
        self.bulk_calls: list[list[str]] = []
        self._guard = threading.Lock()

    def publish_batch(self, messages: Sequence[OutboxMessage]) -> set[str]:
        with self._guard:
            self.attempts += 1
            self.bulk_calls.append([m.key for m in messages])
            if self.failures:
                self.failures -= 1
                raise PublishFailed("sidecar unreachable")
            refused = {m.event_id for m in messages if m.key in self.refuse}
            self.refuse -= {m.key for m in messages}
            self.published += [m for m in messages if m.event_id not in refused]
            return refused

    def publish(self, message: OutboxMessage) -> None:
        with self._guard:
            self.attempts += 1
            if self.failures:
                self.failures -= 1
                raise PublishFailed("sidecar unreachable")
            self.published.append(message)


class HeldElsewhere(Lease):
    def held(self) -> bool:
        return False


def unpublished_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        rows = connection.execute(select(outbox.c.id).where(outbox.c.published_at.is_(None)))
        return len(rows.all())


def runtime_with(
    settings: Settings,
    engine: Engine,
    publisher: RecordingPublisher,
    adapters: Adapters | None = None,
    **changed: float,
) -> Runtime:
    """The service as `serve` builds it, on the test's database, publishing to `publisher`;
    its relay backs off briefly. Its workers are started by the test when it wants them."""
    fast = settings.model_copy(update={"relay_max_backoff_seconds": 0.05, **changed})
    return build_runtime(fast, replace(adapters or Adapters(), engine=engine, publisher=publisher))


def test_relay_publishes_each_commit_keyed_by_order(engine: Engine, settings: Settings) -> None:
    publisher = RecordingPublisher()
    runtime = runtime_with(settings, engine, publisher)
    inventory, relay = runtime.inventory, runtime.relay
    relay.start()
    sku = inventory.create_product(product_with(5)).skus[0]

    inventory.deduct(order(101, (sku.id, 2)))
    inventory.deduct(order(102, (sku.id, 9)))

    assert relay.flush(timeout=10)
    relay.stop()
    assert [(m.topic, m.key) for m in publisher.published] == [
        ("OnInventoryDeductSuccess", "101"),
        ("OnInventoryDeductFailed", "102"),
    ]
    assert json.loads(publisher.published[0].payload)["Sku"][0]["Stock"] == 3
    assert unpublished_rows(engine) == 0


def test_relay_retries_a_failed_publish_without_reordering_an_orders_events(
    engine: Engine, settings: Settings
) -> None:
    publisher = RecordingPublisher(failures=3)
    runtime = runtime_with(settings, engine, publisher)
    inventory, relay = runtime.inventory, runtime.relay
    relay.start()
    sku = inventory.create_product(product_with(5)).skus[0]

    inventory.deduct(order(201, (sku.id, 1)))
    inventory.revert(RevertInventory(201))

    assert relay.flush(timeout=10)
    relay.stop()
    assert [m.topic for m in publisher.published] == [
        "OnInventoryDeductSuccess",
        "OnInventoryReverted",
    ]
    assert publisher.attempts == 5
    assert unpublished_rows(engine) == 0


def test_relay_leaves_the_row_in_the_outbox_while_publishing_fails(
    engine: Engine, settings: Settings
) -> None:
    publisher = RecordingPublisher(failures=10_000)
    runtime = runtime_with(settings, engine, publisher)
    inventory, relay = runtime.inventory, runtime.relay
    relay.start()
    sku = inventory.create_product(product_with(5)).skus[0]

    inventory.deduct(order(301, (sku.id, 1)))

    assert not relay.flush(timeout=0.5)
    relay.stop()
    assert publisher.published == []
    assert unpublished_rows(engine) == 1


def test_publish_delay_hook_holds_the_event_back(engine: Engine, settings: Settings) -> None:
    publisher = RecordingPublisher()
    runtime = runtime_with(settings, engine, publisher, relay_publish_delay_ms=60_000)
    inventory, relay = runtime.inventory, runtime.relay
    relay.start()
    sku = inventory.create_product(product_with(5)).skus[0]

    inventory.deduct(order(401, (sku.id, 1)))

    assert not relay.flush(timeout=0.5)
    relay.stop()
    assert publisher.published == []


def test_relay_publishes_its_own_commits_as_written_without_reading_them_back(
    engine: Engine, settings: Settings
) -> None:
    publisher = RecordingPublisher()
    runtime = runtime_with(settings, engine, publisher, relay_publish_delay_ms=300)
    inventory, relay = runtime.inventory, runtime.relay
    relay.start()
    assert relay.flush(timeout=10)
    sku = inventory.create_product(product_with(5)).skus[0]
    inventory.deduct(order(411, (sku.id, 1)))
    # The row changed behind the relay's back: a payload read back from it would show this.
    with engine.begin() as connection:
        connection.execute(outbox.update().values(payload='{"changed": true}'))

    assert relay.flush(timeout=10)
    relay.stop()
    [published] = publisher.published
    assert json.loads(published.payload)["OrderId"] == "411"
    assert unpublished_rows(engine) == 0


def test_sweeper_republishes_rows_a_crash_left_behind(
    inventory: InventoryService, engine: Engine, settings: Settings
) -> None:
    sku = inventory.create_product(product_with(5)).skus[0]
    inventory.deduct(order(501, (sku.id, 1)))  # no relay: as if the process died after commit
    publisher = RecordingPublisher()
    later = FixedClock(SystemClock().now() + timedelta(seconds=30))
    runtime = runtime_with(
        settings, engine, publisher, Adapters(clock=later), sweep_min_age_seconds=5
    )
    sweeper = runtime.sweeper

    assert sweeper.sweep_once() == 1
    assert sweeper.sweep_once() == 0
    assert [m.key for m in publisher.published] == ["501"]
    assert unpublished_rows(engine) == 0


def test_sweeper_leaves_young_rows_to_the_relay(
    inventory: InventoryService, engine: Engine, settings: Settings
) -> None:
    sku = inventory.create_product(product_with(5)).skus[0]
    inventory.deduct(order(601, (sku.id, 1)))
    publisher = RecordingPublisher()
    sweeper = runtime_with(settings, engine, publisher, sweep_min_age_seconds=60).sweeper

    assert sweeper.sweep_once() == 0
    assert publisher.published == []


def test_sweeper_does_nothing_while_another_replica_holds_the_lease(
    inventory: InventoryService, engine: Engine, settings: Settings
) -> None:
    sku = inventory.create_product(product_with(5)).skus[0]
    inventory.deduct(order(701, (sku.id, 1)))
    publisher = RecordingPublisher()
    sweeper = runtime_with(
        settings,
        engine,
        publisher,
        Adapters(lease=HeldElsewhere()),
        sweep_interval_seconds=0.05,
        sweep_min_age_seconds=0,
    ).sweeper

    sweeper.start()
    threading.Event().wait(0.3)
    sweeper.stop()

    assert publisher.published == []
    assert unpublished_rows(engine) == 1


def test_a_new_relay_first_publishes_what_a_crashed_process_left_in_order(
    inventory: InventoryService, engine: Engine, settings: Settings
) -> None:
    sku = inventory.create_product(product_with(5)).skus[0]
    inventory.deduct(order(801, (sku.id, 1)))  # committed, never published: the process died
    publisher = RecordingPublisher()
    restarted = runtime_with(settings, engine, publisher)
    relay = restarted.relay

    restarted.inventory.revert(RevertInventory(801))  # the order's next event
    relay.start()

    assert relay.flush(timeout=10)
    relay.stop()
    assert [(m.topic, m.key) for m in publisher.published] == [
        ("OnInventoryDeductSuccess", "801"),
        ("OnInventoryReverted", "801"),
    ]
    assert unpublished_rows(engine) == 0


def test_an_orders_older_unpublished_event_goes_out_before_its_newer_one(
    inventory: InventoryService, engine: Engine, settings: Settings
) -> None:
    sku = inventory.create_product(product_with(5)).skus[0]
    publisher = RecordingPublisher()
    runtime = runtime_with(settings, engine, publisher)
    relay = runtime.relay
    relay.start()
    assert relay.flush(timeout=10)  # nothing left from before: the start-up pass is done
    inventory.deduct(order(901, (sku.id, 1)))  # committed by another replica, unpublished

    runtime.inventory.revert(RevertInventory(901))

    assert relay.flush(timeout=10)
    relay.stop()
    assert [m.topic for m in publisher.published] == [
        "OnInventoryDeductSuccess",
        "OnInventoryReverted",
    ]


def test_relay_publishes_runs_of_one_topic_in_bulk_and_keeps_a_refused_event(
    engine: Engine, settings: Settings
) -> None:
    publisher = RecordingPublisher(refuse={"402"})
    runtime = runtime_with(settings, engine, publisher)
    inventory, relay = runtime.inventory, runtime.relay
    relay.start()
    sku = inventory.create_product(product_with(5)).skus[0]

    inventory.deduct_batch([order(401, (sku.id, 1)), order(402, (sku.id, 1))])
    inventory.deduct(order(403, (sku.id, 9)))  # refused for stock: the other topic
    inventory.deduct(order(404, (sku.id, 1)))

    assert relay.flush(timeout=10)
    relay.stop()
    # The refusal stops the pass after the first run; 402 goes out again first.
    assert publisher.bulk_calls[0] == ["401", "402"]
    assert [m.key for m in publisher.published] == ["401", "402", "403", "404"]
    assert unpublished_rows(engine) == 0


def test_flush_right_after_start_waits_for_what_an_earlier_process_left(
    inventory: InventoryService, engine: Engine, settings: Settings
) -> None:
    sku = inventory.create_product(product_with(5)).skus[0]
    for order_id in range(1001, 1011):  # committed, never published: the process died
        inventory.deduct(order(order_id, (sku.id, 1)))
    relay = runtime_with(settings, engine, RecordingPublisher()).relay
    relay.start()

    assert relay.flush(timeout=10)

    assert unpublished_rows(engine) == 0
    relay.stop()


def test_a_legacy_orders_outcomes_are_stored_and_published_raw_beside_cloud_events(
    engine: Engine, settings: Settings
) -> None:
    publisher = RecordingPublisher()
    legacy = settings.model_copy(update={"legacy_wire": "v7"})
    runtime = runtime_with(legacy, engine, publisher)
    inventory, relay = runtime.inventory, runtime.relay
    relay.start()
    sku = inventory.create_product(product_with(5)).skus[0]

    inventory.deduct(replace(order(501, (sku.id, 2)), dialect=Dialect.LEGACY))
    inventory.deduct(replace(order(502, (sku.id, 9)), dialect=Dialect.LEGACY))
    inventory.deduct(order(503, (sku.id, 1)))

    assert relay.flush(timeout=10)
    relay.stop()
    assert [(m.topic, m.key, m.raw) for m in publisher.published] == [
        ("ProductEvent", "501", True),
        ("OrderEventDLQ", "502", True),
        ("OnInventoryDeductSuccess", "503", False),
    ]
    record = json.loads(publisher.published[0].payload)
    assert record["Header"]["Event_id"] == publisher.published[0].event_id
    with engine.connect() as connection:
        stored = connection.execute(select(outbox.c.message_key, outbox.c.raw_payload)).all()
    assert sorted(stored) == [("501", True), ("502", True), ("503", False)]
