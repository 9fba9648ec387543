"""The fault suite of issue 8: each scenario sends its own stream of paid orders over a few hot
SKUs at a steady rate while one thing breaks, then runs the same invariant check
(tests/faults/check.py) and adds a row to the table printed at the end of the run.

No assertion is about time: the check waits (generously) for the stack to settle, then counts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager

import pytest

from devstack.errors import DevstackError
from devstack.gate import Gate
from product_service.contract.product.v1 import product_service_pb2 as api
from tests.e2e.world import PAID, World
from tests.faults.check import Observer, Row, check, metric, outbox_backlog, wait_for_outcomes
from tests.faults.conftest import ROWS
from tests.faults.load import Message, Paid, Plan, Stream, demand, plan_orders
from tests.fullstack import PRODUCT_ENV, infra, require_managed

pytestmark = pytest.mark.faults

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


def make_plan(world: World, rng: random.Random, count: int, poison_every: int = 0) -> Plan:
    """SKUs with stock for about 90% of the plan's demand: most orders succeed, the late ones
    on a sold-out SKU fail, so both outcome topics carry events."""
    refs = world.new_skus([(0, 0)] * HOT_SKUS)
    plan = plan_orders(rng, refs, world.new_order_id, count, poison_every, world.token)
    for sku_id, wanted in demand(plan.orders).items():
        world.sim.product.AdjustStock(_restock(sku_id, int(wanted * 0.9) + 1), timeout=30)
    return plan


def _restock(sku_id: int, quantity: int) -> api.AdjustStockRequest:
    return api.AdjustStockRequest(sku_id=sku_id, delta=quantity, reason="fault suite stock")


def run(
    world: World,
    name: str,
    plan: Plan,
    fault: Fault | None = None,
    send: Callable[[Message], None] | None = None,
    note: str = "",
) -> Row:
    """Streams the plan while `fault` runs, checks the invariants, records and asserts."""
    observer = Observer(world)
    row = Row(name, len(plan.orders), note=note)
    try:
        stream = Stream(plan.messages, send or send_through_dapr(world), RATE).start()
        if fault is not None:
            cleared = fault(stream)
            sent_before = [m for m in plan.messages[: stream.sent] if isinstance(m, Paid)]
        else:
            stream.finish()
            cleared, sent_before = time.monotonic(), plan.orders
        if wait_for_outcomes(observer, sent_before, timeout=300):
            row.recover_seconds = time.monotonic() - cleared
        stream.finish()
        check(world, observer, plan, row)
    finally:
        observer.close()
    ROWS.append(row)
    assert (row.lost, row.doubled, row.problems) == (0, 0, []), row.problems[:20]
    return row


def start_product(world: World, env: dict[str, str] | None = None) -> None:
    """Starts the app (and its sidecar if down), again and again for up to a minute, as a
    supervisor would: on a shared stack MariaDB may be away for a moment (another test)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            world.product.start(env=env or PRODUCT_ENV)
            return
        except DevstackError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


@pytest.fixture(autouse=True)
def product_running(world: World) -> None:
    """Each scenario starts with the app up, whatever the previous one left."""
    if not world.product.running:
        start_product(world)


@contextmanager
def stopped(component: str) -> Iterator[None]:
    """`scripts/infra down COMPONENT`; always `up` again."""
    require_managed(component)
    try:
        infra("down", component)
        yield
    finally:
        infra("up", component)


# 1 -------------------------------------------------------------------------------------------

KILLS = 10


def test_app_killed_with_sigkill_ten_times_at_random_moments(
    world: World, rng: random.Random
) -> None:
    plan = make_plan(world, rng, 600)
    moments = sorted(rng.uniform(0.5, len(plan.messages) / RATE * 0.85) for _ in range(KILLS))

    def kill_and_restart(stream: Stream) -> float:
        t0 = time.monotonic()
        for at in moments:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            world.product.kill()
            start_product(world)
        return time.monotonic()

    run(world, f"app SIGKILL x{KILLS}", plan, kill_and_restart)


# 2 -------------------------------------------------------------------------------------------


def test_product_sidecar_restarted(world: World, rng: random.Random) -> None:
    def restart_sidecar(stream: Stream) -> float:
        stream.wait_sent(0.3)
        world.product.sidecar.restart()
        return time.monotonic()

    run(world, "product sidecar restarted", make_plan(world, rng, 300), restart_sidecar)


# 3, 4 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("component", "name"), [("kafka", "Kafka broker restarted"), ("mariadb", "MariaDB restarted")]
)
def test_infrastructure_restarted(
    world: World, rng: random.Random, component: str, name: str
) -> None:
    """`scripts/infra down` after a third of the stream, 3 s down, `up` (always)."""

    def restart(stream: Stream) -> float:
        stream.wait_sent(0.3)
        with stopped(component):
            time.sleep(3)
        return time.monotonic()

    run(world, name, make_plan(world, rng, 300), restart)


# 5 -------------------------------------------------------------------------------------------


def test_redis_stopped_for_ten_seconds_locks_degrade_and_processing_continues(
    world: World, rng: random.Random
) -> None:
    labels = {"kind": "order", "result": "store_unavailable"}
    # Bulk deliveries take order locks only when asked to: ask, so the locks are in the path.
    world.product.stop()
    start_product(world, {**PRODUCT_ENV, "PRODUCT_BULK_ORDER_LOCKS": "true"})
    before = metric(world.product, "product_lock_acquisitions_total", **labels)
    during: list[int] = []

    def stop_redis(stream: Stream) -> float:
        stream.wait_sent(0.2)
        with stopped("redis"):
            sent = stream.sent
            time.sleep(10)
            during.append(stream.sent - sent)
        return time.monotonic()

    plan = make_plan(world, rng, 300)
    try:
        row = run(world, "Redis stopped 10 s", plan, stop_redis)
        unlocked = metric(world.product, "product_lock_acquisitions_total", **labels) - before
    finally:
        world.product.stop()
        start_product(world)
    row.note = f"{unlocked:.0f} orders without lock"
    assert unlocked > 0, "no lock acquisition counted store_unavailable while Redis was down"


# 6 -------------------------------------------------------------------------------------------


def test_sidecar_unreachable_for_the_relay_backlog_grows_then_drains(
    world: World, rng: random.Random
) -> None:
    """The app reaches its sidecar's gRPC API (publish, lock) through a Gate; deliveries come
    from the sidecar over the app channel, which stays up. Cut for 10 s: orders are still
    decided (without lock), their events pile up in the outbox; restored: the relay drains."""
    product = world.product
    plan = make_plan(world, rng, 400)
    backlog: list[int] = []

    def cut_relay(stream: Stream) -> float:
        stream.wait_sent(0.25)
        gate.cut()
        try:
            until = time.monotonic() + 10
            while time.monotonic() < until:
                backlog.append(outbox_backlog(product) or 0)
                time.sleep(0.5)
        finally:
            gate.restore()
        return time.monotonic()

    with closing(Gate(product.sidecar.grpc_port)) as gate:
        product.stop()
        try:
            start_product(world, {"DAPR_GRPC_PORT": str(gate.port)})
            row = run(world, "sidecar unreachable for the relay", plan, cut_relay)
        finally:
            product.stop()
            start_product(world, {"DAPR_GRPC_PORT": str(product.sidecar.grpc_port)})
    row.note = f"backlog peaked at {max(backlog, default=0)}"
    assert max(backlog, default=0) > 0, "the outbox backlog never grew while the gate was cut"


# 7 -------------------------------------------------------------------------------------------


def test_every_paid_order_delivered_three_times(world: World, rng: random.Random) -> None:
    """Once through Dapr, twice straight into Kafka as one CloudEvent (one id), same key."""
    through_dapr = send_through_dapr(world)

    def three_times(message: Message) -> None:
        assert isinstance(message, Paid)
        through_dapr(message)
        event_id = f"{world.token}-{message.order_id}"
        for _ in range(2):
            world.raw_pay(message.order_id, message.lines, event_id=event_id)

    plan = make_plan(world, rng, 300)
    run(world, "every message delivered 3 times", plan, send=three_times)


# 8 -------------------------------------------------------------------------------------------


def test_ten_percent_poison_messages_interleaved(world: World, rng: random.Random) -> None:
    plan = make_plan(world, rng, 300, poison_every=10)
    run(world, "10% poison messages", plan, note="poison: 5 kinds of malformed payload")
