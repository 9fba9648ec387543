"""A burst (beyond the ten scenarios of issue 4): decided in bulk, every outcome record keyed by
its order and carrying its outbox event id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.kafka_io import order_of as _order_of
from tests.e2e.test_observability import delta, metric_samples
from tests.e2e.world import DEDUCTED, PAID, World, wait_published
from tests.eventually import eventually
from tests.fullstack import Running

pytestmark = pytest.mark.e2e


# Beyond the ten: a burst --------------------------------------------------------------------------


def test_a_burst_is_decided_in_bulk_and_each_outcome_is_keyed_by_its_order_with_its_event_id(
    world: World, stack: Running, tail_factory: Callable[[str], Any]
) -> None:
    """150 payments written straight into Kafka at once: the sidecar delivers them in bulk (fewer
    deliveries than messages), the relay publishes in bulk, and every outcome record still
    carries its own order id as Kafka key and its outbox event id as CloudEvent id."""
    sku = world.new_sku(stock=1000)
    orders = [world.new_order_id() for _ in range(150)]
    tail = tail_factory(DEDUCTED)
    before = metric_samples(stack)

    for order in orders:
        world.raw_pay(order, [(sku, 1)])

    records = tail.wait_count(lambda r: _order_of(r) in set(orders), count=150, timeout=120)
    by_order = {_order_of(r): r for r in records}
    assert sorted(by_order) == sorted(orders), "one outcome record per order"
    for order, record in by_order.items():
        [(event_id, topic, _)] = wait_published(world, order, 1)
        assert (record.key, (record.envelope or {}).get("id")) == (str(order), event_id)
    assert world.stock(sku.sku_id) == 1000 - 150

    def counted_in_bulk() -> None:
        # The handler observes a delivery's size after the relay may already have published.
        after = metric_samples(stack)
        topic = world.wire(PAID)
        assert delta(before, after, "product_bulk_delivery_entries_sum", topic=topic) == 150
        assert delta(before, after, "product_bulk_delivery_entries_count", topic=topic) < 150

    eventually(counted_in_bulk, timeout=30)
