"""The fault suite of issue 8: each scenario sends its own stream of paid orders over a few hot
SKUs at a steady rate while one thing breaks, then runs the same invariant check
(tests/faults/check.py) and adds a row to the table printed at the end of the run.

No assertion is about time: the check waits (generously) for the stack to settle, then counts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest

from devstack.gate import Gate
from tests.e2e.world import World
from tests.faults.check import metric, outbox_backlog
from tests.faults.load import Message, Paid, Stream
from tests.faults.scenario import (
    RATE,
    make_plan,
    restart_measured,
    run,
    send_through_dapr,
    start_product,
)
from tests.fullstack import PRODUCT_ENV, infra, require_managed

pytestmark = pytest.mark.faults


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

    recoveries: list[float] = []

    def kill_and_restart(stream: Stream) -> float:
        t0 = time.monotonic()
        for at in moments:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            world.product.kill()
            restart_measured(world, world.product, recoveries, stream)
        return time.monotonic()

    row = run(world, f"app SIGKILL x{KILLS}", plan, kill_and_restart, recoveries=recoveries)
    row.note = "ready -> first payment: " + ", ".join(f"{s:.1f}" for s in recoveries) + " s"


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
