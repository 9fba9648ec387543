"""Three replicas on one consumer group (issue 14): pods of one Deployment, each an app beside
its own daprd, sharing the topics' partitions. Each scenario streams paid orders while a
replica dies, restarts, joins or leaves, and ends with the fault suite's invariant check.

The replicas are the fault stack's product service plus two more started here (and stopped
when the module ends, so the single-replica scenarios keep their one replica).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import bindparam, text

from devstack.kafka import dapr_partition, group_assignment
from order_simulator.client import success_payload
from product_service.contract.product.v1 import events_pb2 as events
from product_service.contract.product.v1 import product_service_pb2 as api
from tests.e2e.world import PAID, REJECTED, World
from tests.eventually import eventually
from tests.faults.check import Row, metric
from tests.faults.load import Message, Paid, Plan, Stream
from tests.faults.scenario import make_plan, restart_measured, run, start_app
from tests.fullstack import PRODUCT_ENV

pytestmark = pytest.mark.faults

REPLICAS = 3
App = Any  # a devstack App: one replica's app process beside its sidecar


@pytest.fixture(scope="module")
def replicas(world: World) -> Iterator[list[App]]:
    stack = world.stack.stack
    while len(stack.products) < REPLICAS:
        stack.add_replica(env=PRODUCT_ENV)
    try:
        yield stack.products[:REPLICAS]
    finally:
        for extra in stack.products[1:]:
            stop_replica(extra)


@pytest.fixture(autouse=True)
def all_running(world: World, replicas: list[App]) -> None:
    """Each scenario starts with the three replicas up and the group balanced."""
    for app in replicas:
        if not (app.running and app.sidecar.running):
            start_app(app)
    wait_balanced(world, replicas)


def names(apps: Sequence[App]) -> list[str]:
    return [app.sidecar.replica for app in apps]


def payment_partitions(world: World) -> dict[str, list[int]]:
    """Replica name -> the payment topic's partitions its sidecar holds (the broker's view)."""
    stack = world.stack.stack
    held = group_assignment(stack.kafka_brokers, stack.consumer_group)
    return {member: topics.get(world.wire(PAID), []) for member, topics in held.items()}


def wait_balanced(world: World, apps: Sequence[App], timeout: float = 90) -> dict[str, list[int]]:
    """Until exactly `apps` share the payment partitions, each an equal share (6 over 3: two)."""
    partitions = world.stack.stack.partitions
    share = partitions // len(apps)

    def balanced() -> dict[str, list[int]]:
        held = {member: p for member, p in payment_partitions(world).items() if p}
        assert sorted(held) == sorted(names(apps)), f"payment partitions held by {held}"
        assert all(len(p) == share for p in held.values()), f"not {share} each: {held}"
        return held

    return eventually(balanced, timeout=timeout, interval=0.5)


def kill_replica(app: App) -> None:
    """A node loss: the app and its sidecar SIGKILLed together."""
    app.kill()
    app.sidecar.kill()


def stop_replica(app: App) -> None:
    """What the kubelet does to a terminating pod: SIGTERM to the app and its sidecar at once,
    each then given its grace period."""
    with ThreadPoolExecutor(2) as both:
        list(both.map(lambda process: process.stop(), (app, app.sidecar)))


def replica_run(
    world: World, name: str, plan: Plan, fault: Callable[[Stream], float], **kw: Any
) -> Row:
    return run(world, name, plan, fault, replicas=REPLICAS, **kw)


# -- the replicas and their partitions, no fault --------------------------------------------


def test_service_invocation_reaches_every_replica(world: World, replicas: list[App]) -> None:
    [sku] = world.new_skus([(5, 0)])
    before = [
        metric(app, "product_api_requests_total", method="GetSku", code="OK") for app in replicas
    ]

    for _ in range(60):
        world.sim.product.GetSku(api.GetSkuRequest(sku_id=sku.sku_id), timeout=10)

    after = [
        metric(app, "product_api_requests_total", method="GetSku", code="OK") for app in replicas
    ]
    served = [a - b for a, b in zip(after, before, strict=True)]
    assert sum(served) == 60
    assert all(count > 0 for count in served), f"calls per replica: {served}"


def test_each_replica_counts_the_partitions_the_broker_gave_it(
    world: World, replicas: list[App]
) -> None:
    held = wait_balanced(world, replicas)
    [sku] = world.new_skus([(10_000, 0)])
    partitions = world.stack.stack.partitions
    orders = _orders_on_every_partition(world, partitions, per_partition=3)
    topic = world.wire(PAID)
    before = {app.sidecar.replica: _received(app, topic, partitions) for app in replicas}

    for order_id in orders:
        world.pay(order_id, [(sku, 1)])
    world.wait_outcome(orders[-1], timeout=60)
    for order_id in orders:
        world.wait_outcome(order_id, timeout=60)

    for app in replicas:
        name = app.sidecar.replica
        now = _received(app, topic, partitions)
        grew = sorted(p for p in range(partitions) if now[p] > before[name][p])
        assert grew == held[name], f"{name} received {grew}; the broker gave it {held[name]}"
        assert f"{topic} partition {held[name][0]} delivers to this replica" in _log(app)


def _orders_on_every_partition(world: World, partitions: int, per_partition: int) -> list[int]:
    wanted: Counter[int] = Counter()
    orders: list[int] = []
    while min((wanted[p] for p in range(partitions)), default=0) < per_partition:
        order_id = world.new_order_id()
        partition = dapr_partition(str(order_id), partitions)
        if wanted[partition] < per_partition:
            wanted[partition] += 1
            orders.append(order_id)
    return orders


def _received(app: App, topic: str, partitions: int) -> list[float]:
    return [
        metric(app, "product_partition_messages_total", topic=topic, partition=str(p))
        for p in range(partitions)
    ]


def _log(app: App) -> str:
    return str(app.log_path.read_text(errors="replace"))


# 1 -------------------------------------------------------------------------------------------


def test_a_replica_lost_with_its_sidecar_and_back_after_ten_seconds(
    world: World, replicas: list[App], rng: random.Random
) -> None:
    victim = replicas[1]
    recoveries: list[float] = []

    def node_loss(stream: Stream) -> float:
        stream.wait_sent(0.3)
        kill_replica(victim)
        time.sleep(10)
        restart_measured(world, victim, recoveries, stream)
        return time.monotonic()

    plan = make_plan(world, rng, 450)
    replica_run(world, "replica SIGKILL, back after 10 s", plan, node_loss, recoveries=recoveries)


# 2 -------------------------------------------------------------------------------------------


def test_a_rolling_restart_one_replica_after_the_other(
    world: World, replicas: list[App], rng: random.Random
) -> None:
    recoveries: list[float] = []

    def rollout(stream: Stream) -> float:
        stream.wait_sent(0.15)
        for app in replicas:
            stop_replica(app)
            restart_measured(world, app, recoveries, stream)
        return time.monotonic()

    plan = make_plan(world, rng, 900)  # 60 s: the three restarts happen while orders flow
    replica_run(world, "rolling restart", plan, rollout, recoveries=recoveries)


# 3 -------------------------------------------------------------------------------------------


def test_scaled_from_one_to_three_and_back_to_one_while_orders_flow(
    world: World, replicas: list[App], rng: random.Random
) -> None:
    first, *others = replicas
    for app in others:
        stop_replica(app)
    wait_balanced(world, [first])

    recoveries: list[float] = []

    def scale(stream: Stream) -> float:
        stream.wait_sent(0.2)
        for app in others:
            restart_measured(world, app, recoveries, stream)
        wait_balanced(world, replicas)
        stream.wait_sent(0.6)
        for app in reversed(others):
            stop_replica(app)
        return time.monotonic()

    plan = make_plan(world, rng, 600)
    replica_run(world, "scale 1 -> 3 -> 1", plan, scale, recoveries=recoveries)


# 4 -------------------------------------------------------------------------------------------


def test_a_hot_sku_in_half_of_all_orders_over_every_replica(
    world: World, replicas: list[App], rng: random.Random
) -> None:
    plan = make_plan(world, rng, 450, hot_sku_every=2)

    def steady(stream: Stream) -> float:
        stream.finish()
        return time.monotonic()

    before = _row_lock_waits(world)
    row = replica_run(world, "hot SKU in half of the orders", plan, steady)
    row.note = f"{_row_lock_waits(world) - before} InnoDB row lock waits"


def _row_lock_waits(world: World) -> int:
    with world.engine.connect() as connection:
        status = connection.execute(text("SHOW GLOBAL STATUS LIKE 'Innodb_row_lock_waits'"))
        return int(status.one()[1])


# 5 -------------------------------------------------------------------------------------------


def test_reverts_and_their_deducts_meet_on_different_replicas(
    world: World, replicas: list[App], rng: random.Random
) -> None:
    """Each order's rejection (OnInventoryDeductSuccessDLQ) is published at the same moment as
    its payment, under a key whose partition another replica holds."""
    stack = world.stack.stack
    partitions = stack.partitions
    held = group_assignment(stack.kafka_brokers, stack.consumer_group)
    pay_owner = _owners(held, world.wire(PAID))
    reject_owner = _owners(held, world.wire(REJECTED))
    pool = ThreadPoolExecutor(4)

    def pay_and_reject_at_once(message: Message) -> None:
        assert isinstance(message, Paid)
        owner = pay_owner[dapr_partition(str(message.order_id), partitions)]
        key = _key_held_elsewhere(message.order_id, owner, reject_owner, partitions)
        lines = [(sku.sku_id, qty) for sku, qty in message.lines]
        rejection = json.dumps(success_payload(message.order_id, lines)).encode()
        both = [
            pool.submit(world.pay, message.order_id, message.lines),
            pool.submit(world.sim.publish_raw, REJECTED, rejection, key),
        ]
        for sent in both:
            sent.result()

    def steady(stream: Stream) -> float:
        stream.finish()
        return time.monotonic()

    try:
        plan = make_plan(world, rng, 300)
        replica_run(
            world,
            "revert and deduct on two replicas",
            plan,
            steady,
            send=pay_and_reject_at_once,
            reverted=True,
        )
    finally:
        pool.shutdown()


def _owners(held: dict[str, dict[str, list[int]]], topic: str) -> dict[int, str]:
    return {p: member for member, topics in held.items() for p in topics.get(topic, [])}


def _key_held_elsewhere(
    order_id: int, pay_owner: str, reject_owner: dict[int, str], partitions: int
) -> str:
    for attempt in range(100):
        key = f"{order_id}-{attempt}"
        if reject_owner.get(dapr_partition(key, partitions), pay_owner) != pay_owner:
            return key
    raise AssertionError(f"no key for order {order_id} on another replica than {pay_owner}")


# 6 -------------------------------------------------------------------------------------------


def test_one_order_through_the_api_and_through_pub_sub_at_once(
    world: World, replicas: list[App], rng: random.Random
) -> None:
    """Service invocation picks any replica; the payment goes to its partition's holder. The
    API answers must agree with the one outcome."""
    pool = ThreadPoolExecutor(4)
    answers: dict[int, str] = {}
    guard = threading.Lock()

    def api_deduct(message: Paid) -> None:
        request = api.DeductInventoryRequest(
            order_id=message.order_id,
            lines=[
                events.OrderDetail(product_id=sku.product_id, sku_id=sku.sku_id, quantity=qty)
                for sku, qty in message.lines
            ],
        )
        reply = world.sim.product.DeductInventory(request, timeout=30)
        with guard:
            answers[message.order_id] = api.Outcome.Name(reply.outcome)

    def both_at_once(message: Message) -> None:
        assert isinstance(message, Paid)
        sent = [
            pool.submit(world.pay, message.order_id, message.lines),
            pool.submit(api_deduct, message),
        ]
        for future in sent:
            future.result()

    def steady(stream: Stream) -> float:
        stream.finish()
        return time.monotonic()

    try:
        plan = make_plan(world, rng, 300)
        replica_run(world, "API and pub/sub deduct at once", plan, steady, send=both_at_once)
    finally:
        pool.shutdown()
    recorded = _deduct_outcomes(world, [o.order_id for o in plan.orders])
    disagree = {o: (a, recorded.get(o)) for o, a in answers.items() if a != recorded.get(o)}
    assert len(answers) == len(plan.orders) and not disagree, list(disagree.items())[:10]


def _deduct_outcomes(world: World, order_ids: Sequence[int]) -> dict[int, str]:
    statement = text(
        "SELECT order_id, outcome FROM inbox WHERE operation = 'DEDUCT' AND order_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    with world.engine.connect() as connection:
        rows = connection.execute(statement, {"ids": list(order_ids)})
        return {int(order_id): str(outcome) for order_id, outcome in rows}


# 7 -------------------------------------------------------------------------------------------

LEASE_SECONDS = 10
RELAY_HELD_BACK_MS = 25_000  # longer than the stream (20 s); the survivors' own events wait it


def test_the_sweeper_lease_moves_when_its_holder_dies_and_its_events_get_published(
    world: World, replicas: list[App], rng: random.Random
) -> None:
    """Every relay is held back for longer than the stream lasts, so each replica's events wait
    in the outbox (the lease holder's sweeper takes the others' once older than the minimum age,
    never its own relay's). SIGKILL the holder halfway: its events can then only be published by
    another replica, which takes the lease within one term; the check finds every order's
    outcome event."""
    held_back = {
        **PRODUCT_ENV,
        "PRODUCT_LEASE_SECONDS": str(LEASE_SECONDS),
        "PRODUCT_RELAY_PUBLISH_DELAY_MS": str(RELAY_HELD_BACK_MS),
    }
    for app in replicas:
        stop_replica(app)
        start_app(app, held_back)
    wait_balanced(world, replicas)
    moved: list[float] = []

    def kill_the_holder(stream: Stream) -> float:
        stream.wait_sent(0.5)
        [holder] = eventually(lambda: _holders(replicas, count=1), timeout=3 * LEASE_SECONDS)
        killed = time.monotonic()
        kill_replica(holder)
        survivors = [app for app in replicas if app is not holder]
        [heir] = eventually(lambda: _holders(survivors, count=1), timeout=3 * LEASE_SECONDS)
        moved.append(time.monotonic() - killed)
        heirs.append(heir)
        return time.monotonic()

    heirs: list[App] = []
    try:
        plan = make_plan(world, rng, 300)
        row = replica_run(world, "sweeper lease holder SIGKILL", plan, kill_the_holder)
        row.note = f"lease moved {moved[0]:.1f} s after the kill (term {LEASE_SECONDS} s)"
        assert metric(heirs[0], "product_sweeper_republished_total") > 0
    finally:
        for app in replicas:
            stop_replica(app)
            start_app(app, PRODUCT_ENV)


def _holders(apps: Sequence[App], count: int) -> list[App]:
    holders = _lease_holders(apps)
    assert len(holders) == count, f"lease held by {names(holders)}, not {count} of them"
    return holders


def _lease_holders(apps: Sequence[App]) -> list[App]:
    return [
        app
        for app in apps
        if app.running and metric(app, "product_lease_held", lease="sweeper") == 1
    ]
