"""What every fault scenario does: a plan of paid orders over a few hot SKUs, streamed at a
steady rate while something breaks, then the one invariant check (check.py) and a row of the
table printed at the end of the run."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from devstack.errors import DevstackError
from product_service.contract.product.v1 import product_service_pb2 as api
from tests.e2e.world import PAID, SkuRef, World
from tests.faults.check import Observer, Row, check, metric, wait_for_outcomes
from tests.faults.conftest import ROWS
from tests.faults.load import Message, Paid, Plan, Stream, demand, plan_orders
from tests.fullstack import PRODUCT_ENV

HOT_SKUS = 12
RATE = 15.0  # orders per second
Fault = Callable[[Stream], float]  # breaks something while the stream runs; when it was cleared


def send_through_dapr(world: World) -> Callable[[Message], None]:
    def send(message: Message) -> None:
        if isinstance(message, Paid):
            world.pay(message.order_id, message.lines)
        else:
            body, kind = message.body, message.content_type
            world.sim.publish_raw(PAID, body, message.key, content_type=kind)

    return send


def make_plan(
    world: World,
    rng: random.Random,
    count: int,
    poison_every: int = 0,
    hot_sku_every: int = 0,
) -> Plan:
    """SKUs with stock for about 90% of the plan's demand: most orders succeed, the late ones
    on a sold-out SKU fail, so both outcome topics carry events. With `hot_sku_every` = n,
    every n-th order also takes one unit of one more SKU, the hot one."""
    refs = world.new_skus([(0, 0)] * HOT_SKUS)
    plan = plan_orders(rng, refs, world.new_order_id, count, poison_every, world.token)
    if hot_sku_every:
        plan = with_hot_sku(plan, world.new_skus([(0, 0)])[0], hot_sku_every)
    for sku_id, wanted in demand(plan.orders).items():
        world.sim.product.AdjustStock(_restock(sku_id, int(wanted * 0.9) + 1), timeout=30)
    return plan


def with_hot_sku(plan: Plan, hot: SkuRef, every: int) -> Plan:
    """The plan with one unit of `hot` added to every `every`-th order."""
    hot_orders = {
        order.order_id: Paid(order.order_id, (*order.lines, (hot, 1)))
        for order in plan.orders[::every]
    }
    orders = [hot_orders.get(order.order_id, order) for order in plan.orders]
    messages = [hot_orders.get(m.order_id, m) if isinstance(m, Paid) else m for m in plan.messages]
    return Plan(orders, plan.poison, messages)


def _restock(sku_id: int, quantity: int) -> api.AdjustStockRequest:
    return api.AdjustStockRequest(sku_id=sku_id, delta=quantity, reason="fault suite stock")


def run(
    world: World,
    name: str,
    plan: Plan,
    fault: Fault | None = None,
    send: Callable[[Message], None] | None = None,
    note: str = "",
    replicas: int = 1,
    reverted: bool = False,
    recoveries: Sequence[float] = (),
) -> Row:
    """Streams the plan while `fault` runs, checks the invariants, records and asserts.
    `recoveries`: what `fault` measured with `restart_measured`, filled while it runs."""
    observer = Observer(world)
    row = Row(name, len(plan.orders), note=note, replicas=replicas)
    try:
        stream = Stream(plan.messages, send or send_through_dapr(world), RATE).start()
        if fault is not None:
            cleared = fault(stream)
            sent_before = [m for m in plan.messages[: stream.sent] if isinstance(m, Paid)]
        else:
            stream.finish()
            cleared, sent_before = time.monotonic(), plan.orders
        if wait_for_outcomes(observer, sent_before, timeout=300):
            row.settle_seconds = time.monotonic() - cleared
        row.recover_seconds = max(recoveries, default=None)
        stream.finish()
        check(world, observer, plan, row, reverted=reverted)
    finally:
        observer.close()
    ROWS.append(row)
    assert (row.lost, row.doubled, row.problems) == (0, 0, []), row.problems[:20]
    return row


def start_product(world: World, env: dict[str, str] | None = None) -> None:
    """Starts the app (and its sidecar if down), again and again for up to a minute, as a
    supervisor would: on a shared stack MariaDB may be away for a moment (another test)."""
    start_app(world.product, env)


def restart_measured(
    world: World,
    app: Any,
    recoveries: list[float],
    stream: Stream,
    env: dict[str, str] | None = None,
) -> None:
    """Starts the app (a replacement) and appends how long after it was ready it answered its
    first payment delivery (its counters start at zero). Nothing is appended when the stream
    ended first: no payment was left for it. One that processes nothing for two minutes while
    payments still come fails the scenario."""
    start_app(app, env)
    ready = time.monotonic()
    topic = world.wire(PAID)
    deadline = ready + 120
    while metric(app, "product_messages_total", topic=topic, answer="success") == 0:
        if stream.finished_at is not None and stream.finished_at < time.monotonic() - 5:
            return  # the last payments went to the other replicas
        assert time.monotonic() < deadline, f"{app.name} processed no payment 120 s after ready"
        time.sleep(0.05)
    recoveries.append(time.monotonic() - ready)


def start_app(app: Any, env: dict[str, str] | None = None) -> None:
    """`start_product` for any replica's app (a devstack App)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            app.start(env=env or PRODUCT_ENV)
            return
        except DevstackError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
