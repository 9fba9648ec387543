"""The one invariant check every fault scenario ends with, and the row it adds to the table.

Every order has exactly one recorded outcome (inbox) and its outcome event reached the outcome
topic (read straight from Kafka; copies of one event id allowed, never two ids for one order);
no stock is negative; the ledger reconciles; the outbox is empty; the dead-letter topic holds
exactly the poison messages.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import bindparam, text

from tests.e2e.kafka_io import Record, TopicTail, order_of
from tests.e2e.world import DEDUCTED, FAILED, PAID, World
from tests.faults.load import Paid, Plan
from tests.fullstack import KAFKA_BOOTSTRAP

OUTCOME_TOPIC = {"SUCCEEDED": DEDUCTED, "FAILED": FAILED}


@dataclass
class Row:
    scenario: str
    orders: int
    lost: int = 0
    doubled: int = 0
    dead_lettered: int = 0
    poison: int = 0
    settle_seconds: float | None = None  # end of the fault -> every earlier order's outcome read
    # A replacement (restarted app or replica) ready -> its first processed payment; the
    # longest of the scenario's replacements.
    recover_seconds: float | None = None
    note: str = ""
    replicas: int = 1
    problems: list[str] = field(default_factory=list)


class Observer:
    """Reads this run's outcome topics and the payments' dead-letter topic from Kafka, from
    the moment it is made (before the scenario's first message)."""

    def __init__(self, world: World) -> None:
        group = f"faults-reader-{world.token}-{uuid.uuid4()}"
        self.outcomes = [
            TopicTail(KAFKA_BOOTSTRAP, world.wire(topic), group_id=f"{group}-{topic}")
            for topic in (DEDUCTED, FAILED)
        ]
        self.dead = TopicTail(KAFKA_BOOTSTRAP, world.wire(f"{PAID}.dead-letter"), group)

    def read(self, seconds: float) -> None:
        for tail in (*self.outcomes, self.dead):
            tail.read(seconds / 3)

    def events(self) -> dict[int, dict[str, str]]:
        """order id -> {event id: contract topic} of every outcome event read."""
        found: dict[int, dict[str, str]] = defaultdict(dict)
        for tail, topic in zip(self.outcomes, (DEDUCTED, FAILED), strict=True):
            for record in tail.records:
                order = order_of(record)
                if order is not None:
                    found[order][str((record.envelope or {}).get("id"))] = topic
        return found

    def close(self) -> None:
        for tail in (*self.outcomes, self.dead):
            tail.close()


def outbox_backlog(product: Any) -> int | None:
    """GET /outbox of the product service; None while it does not answer."""
    try:
        response = httpx.get(
            f"http://127.0.0.1:{product.http_port}/outbox",
            headers=product.operator_headers(),
            timeout=5,
        )
        return int(response.json()["backlog"]) if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def unpublished(world: World, plan: Plan) -> int:
    """Outbox rows of the plan's orders not yet marked published."""
    keys = [str(order.order_id) for order in plan.orders]
    sql = "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL AND message_key IN :ids"
    return int(_rows(world, sql, keys)[0][0])


def wait_for_outcomes(observer: Observer, orders: Iterable[Paid], timeout: float) -> bool:
    """Until the outcome event of each of `orders` was read (True), or the timeout (False)."""
    deadline = time.monotonic() + timeout
    wanted = {order.order_id for order in orders}
    while not wanted <= observer.events().keys():
        if time.monotonic() > deadline:
            return False
        observer.read(0.3)
    return True


def check(
    world: World,
    observer: Observer,
    plan: Plan,
    row: Row,
    timeout: float = 300,
    reverted: bool = False,
) -> Row:
    """Waits (up to `timeout`) for every outcome and for the plan's outbox rows to be
    published, then fills `row`. With `reverted`, every order was also rejected (a revert):
    each must have been deducted and given back, or refused, exactly once."""
    deadline = time.monotonic() + timeout
    settled = wait_for_outcomes(observer, plan.orders, timeout)
    # The plan's own rows: the table is shared with other sessions and earlier runs.
    while settled and unpublished(world, plan) != 0:
        settled = time.monotonic() < deadline
        time.sleep(0.3)
    if not settled:
        row.problems.append(f"not settled within {timeout}s")
    if plan.poison:
        observer.dead.wait_count(lambda r: _poison_of(plan, r) is not None, len(plan.poison))
    observer.dead.drain(2)
    (_check_reverted_orders if reverted else _check_orders)(world, observer, plan, row)
    _check_stock(world, plan, row)
    _check_dead_letters(observer.dead.records, plan, row)
    return row


def _check_orders(world: World, observer: Observer, plan: Plan, row: Row) -> None:
    ids = [order.order_id for order in plan.orders]
    inbox = _rows(
        world,
        "SELECT order_id, outcome FROM inbox WHERE operation = 'DEDUCT' AND order_id IN :ids",
        ids,
    )
    ledger = _rows(
        world, "SELECT order_id, sku_id, kind, delta FROM stock_ledger WHERE order_id IN :ids", ids
    )
    outbox = _rows(
        world,
        "SELECT message_key, event_id, published_at FROM outbox WHERE message_key IN :ids",
        [str(i) for i in ids],
    )
    outcomes_of = _group(inbox, lambda r: int(r.order_id), lambda r: str(r.outcome))
    ledger_of = _group(ledger, lambda r: int(r.order_id), lambda r: (int(r.sku_id), int(r.delta)))
    outbox_of = _group(outbox, lambda r: int(r.message_key), lambda r: str(r.event_id))
    unpublished = [r for r in outbox if r.published_at is None]
    if unpublished:
        row.problems.append(f"{len(unpublished)} outbox rows unpublished, e.g. {unpublished[:3]}")
    events = observer.events()
    for order in plan.orders:
        recorded = outcomes_of.get(order.order_id, [])
        seen = events.get(order.order_id, {})
        lost, doubled = _judge(order, recorded, seen, ledger_of, outbox_of, row.problems)
        row.lost += lost
        row.doubled += doubled


def _judge(
    order: Paid,
    recorded: list[str],
    seen: dict[str, str],
    ledger_of: dict[int, list[tuple[int, int]]],
    outbox_of: dict[int, list[str]],
    problems: list[str],
) -> tuple[bool, bool]:
    """(lost, doubled) for one order; anything else wrong goes to `problems`."""
    oid = order.order_id
    if len(recorded) != 1 or len(seen) != 1:
        problems.append(f"order {oid}: inbox outcomes {recorded}, outcome events {seen}")
        return (not recorded or not seen), (len(recorded) > 1 or len(seen) > 1)
    [(event_id, topic)] = seen.items()
    if outbox_of.get(oid) != [event_id] or OUTCOME_TOPIC.get(recorded[0]) != topic:
        problems.append(
            f"order {oid}: outcome {recorded[0]}, event {event_id} on {topic}, "
            f"outbox {outbox_of.get(oid)}"
        )
    expected = (
        sorted((sku, -qty) for sku, qty in order.merged().items())
        if recorded[0] == "SUCCEEDED"
        else []
    )
    ledger = sorted(ledger_of.get(oid, []))
    if ledger != expected:
        problems.append(f"order {oid}: ledger {ledger}, expected {expected}")
        return False, sum(d for _, d in ledger) < sum(d for _, d in expected)
    return False, False


def _check_reverted_orders(world: World, observer: Observer, plan: Plan, row: Row) -> None:
    """Deducted then given back, or refused because the revert came first: one deduct outcome
    and one revert recorded, one deduct outcome event, and the order's ledger nets to zero."""
    ids = [order.order_id for order in plan.orders]
    inbox = _rows(world, "SELECT order_id, operation FROM inbox WHERE order_id IN :ids", ids)
    ledger = _rows(
        world, "SELECT order_id, sku_id, delta FROM stock_ledger WHERE order_id IN :ids", ids
    )
    operations_of = _group(inbox, lambda r: int(r.order_id), lambda r: str(r.operation))
    net: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for entry in ledger:
        net[int(entry.order_id)][int(entry.sku_id)] += int(entry.delta)
    events = observer.events()
    for order in plan.orders:
        oid = order.order_id
        operations, seen = sorted(operations_of.get(oid, [])), events.get(oid, {})
        if operations != ["DEDUCT", "REVERT"] or len(seen) != 1:
            row.problems.append(f"order {oid}: recorded {operations}, deduct events {seen}")
            row.lost += "DEDUCT" not in operations or not seen
        left = {sku: delta for sku, delta in net.get(oid, {}).items() if delta != 0}
        if left:
            row.problems.append(f"order {oid}: the ledger does not net to zero: {left}")
            row.doubled += 1


def _check_stock(world: World, plan: Plan, row: Row) -> None:
    sku_ids = sorted({sku.sku_id for order in plan.orders for sku, _ in order.lines})
    stock = dict(_pairs(world, "SELECT id, stock FROM skus WHERE id IN :ids", sku_ids))
    sums = dict(
        _pairs(
            world,
            "SELECT sku_id, SUM(delta) FROM stock_ledger WHERE sku_id IN :ids GROUP BY sku_id",
            sku_ids,
        )
    )
    for sku_id in sku_ids:
        have, ledger = stock.get(sku_id, -1), sums.get(sku_id)
        if have < 0 or have != ledger:
            row.problems.append(f"SKU {sku_id}: stock {have}, ledger sum {ledger}")


def _check_dead_letters(records: Sequence[Record], plan: Plan, row: Row) -> None:
    row.dead_lettered = len(records)
    row.poison = len(plan.poison)
    found = [_poison_of(plan, r) for r in records]
    strangers = [r.data_text[:200] for r, marker in zip(records, found, strict=True) if not marker]
    if strangers:
        row.problems.append(f"{len(strangers)} dead letters not poison, e.g. {strangers[:3]}")
    markers = [m for m in found if m]
    missing = {p.marker for p in plan.poison} - set(markers)
    if missing or len(markers) != len(set(markers)):
        row.problems.append(
            f"poison: {len(missing)} not dead-lettered (e.g. {sorted(missing)[:3]}), "
            f"{len(markers) - len(set(markers))} dead-lettered twice"
        )


def _poison_of(plan: Plan, record: Record) -> str | None:
    text_ = record.data_text
    return next((p.marker for p in plan.poison if p.marker in text_), None)


def _rows(world: World, sql: str, ids: Sequence[Any]) -> list[Any]:
    statement = text(sql).bindparams(bindparam("ids", expanding=True))
    with world.engine.connect() as c:
        return list(c.execute(statement, {"ids": list(ids)}))


def _pairs(world: World, sql: str, ids: Sequence[int]) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in _rows(world, sql, ids)]


def _group(rows: Iterable[Any], key: Any, value: Any) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = defaultdict(list)
    for r in rows:
        grouped[key(r)].append(value(r))
    return grouped


def metric(product: Any, name: str, **labels: str) -> float:
    """The value of one sample on the product service's /metrics (0 when absent)."""
    body = httpx.get(f"http://127.0.0.1:{product.http_port}/metrics", timeout=10).text
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in body.splitlines():
        unlabelled = not labels and line.startswith(f"{name} ")
        if unlabelled or (line.startswith(f"{name}{{") and _labels(line) == wanted):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _labels(line: str) -> str:
    inside = line[line.index("{") + 1 : line.index("}")]
    return ",".join(sorted(inside.split(",")))
