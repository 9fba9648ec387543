"""What the end-to-end scenarios do and check, in the words of the order service: fresh SKUs,
paid orders, outcome events received by the simulator, and the service's ledger and outbox.

Every test makes its own SKUs (CreateProduct through Dapr) and order ids, so nothing is reset
between tests and concurrent runs do not disturb each other. No assertion is about time: the
tests wait for events with generous timeouts and then check numbers, ids and reasons exactly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from order_simulator import topics
from product_service.contract.product.v1 import product_service_pb2 as api
from tests.e2e.kafka_io import DaprStyleProducer

PAID = topics.PAYMENT_SUCCESS
REJECTED = topics.DEDUCT_SUCCESS_DLQ
DEDUCTED = topics.DEDUCT_SUCCESS
FAILED = topics.DEDUCT_FAILED
REVERTED = topics.REVERTED
OUTCOME_TOPICS = topics.OUTCOMES


@dataclass(frozen=True)
class SkuRef:
    product_id: int
    sku_id: int
    code: str


@dataclass(frozen=True)
class Outcome:
    """One outcome event as the simulator received it."""

    topic: str
    id: str
    order_id: str
    data: dict[str, Any]
    received_at: float

    @classmethod
    def of(cls, received: Any) -> Outcome:
        data = received.data if isinstance(received.data, dict) else json.loads(received.data)
        return cls(
            topic=received.topic,
            id=str(received.id),
            order_id=str(received.order_id),
            data=data,
            received_at=_epoch(received.received_at),
        )


def _epoch(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


@dataclass
class World:
    stack: Any  # tests.e2e.conftest.Running: the Stack, its product app and simulator
    raw: DaprStyleProducer
    engine: Engine
    token: str
    order_ids: Iterator[int]
    _skus_made: int = 0
    _barrier_sku: SkuRef | None = None

    @property
    def sim(self) -> Any:
        """The order simulator's client (devstack keeps one per app and closes it)."""
        return self.stack.sim.client

    def contract(self, wire_name: str) -> str:
        return str(self.stack.stack.topics.contract(wire_name))

    def wire(self, topic: str) -> str:
        """This run's name on the broker for a contract topic (the stack's topic suffix);
        dead-letter topics follow their topic's name."""
        suffix = ".dead-letter"
        if topic.endswith(suffix):
            return str(self.stack.stack.topics.wire(topic.removesuffix(suffix))) + suffix
        return str(self.stack.stack.topics.wire(topic))

    @property
    def product(self) -> Any:
        """The product service's app process handle (kill / start / stop)."""
        return self.stack.product

    # -- catalog -------------------------------------------------------------------------

    def new_order_id(self) -> int:
        return next(self.order_ids)

    def new_sku(self, stock: int, threshold: int = 0) -> SkuRef:
        return self.new_skus([(stock, threshold)])[0]

    def new_skus(self, specs: Sequence[tuple[int, int]]) -> list[SkuRef]:
        """One new product with a fresh SKU per (stock, warn threshold), through Dapr."""
        codes = []
        for _ in specs:
            self._skus_made += 1
            codes.append(f"e2e-{self.token}-{self._skus_made}")
        request = api.CreateProductRequest(
            name=f"e2e product {codes[0]}",
            skus=[
                api.NewSku(code=code, price="9.90", stock=stock, warn_threshold=threshold)
                for code, (stock, threshold) in zip(codes, specs, strict=True)
            ],
        )
        product = self.sim.product.CreateProduct(request, timeout=30)
        by_code = {sku.code: sku for sku in product.skus}
        return [SkuRef(product.id, by_code[code].id, code) for code in codes]

    def sku(self, sku_id: int) -> Any:
        return self.sim.product.GetSku(api.GetSkuRequest(sku_id=sku_id), timeout=30)

    def stock(self, sku_id: int) -> int:
        return int(self.sku(sku_id).stock)

    # -- orders ----------------------------------------------------------------------------

    def pay(self, order_id: int, lines: Sequence[tuple[SkuRef, int]]) -> None:
        """OnPaymentSuccess through the simulator's sidecar, keyed by order id."""
        self.sim.pay(order_id, [(sku.product_id, sku.sku_id, qty) for sku, qty in lines])

    def reject(self, order_id: int, lines: Sequence[tuple[SkuRef, int]]) -> None:
        """OnInventoryDeductSuccessDLQ through the simulator's sidecar (compensation)."""
        self.sim.reject_success(order_id, [(sku.sku_id, qty) for sku, qty in lines])

    def raw_pay(
        self,
        order_id: int,
        lines: Sequence[tuple[SkuRef, int]],
        key: str | None = None,
        event_id: str | None = None,
    ) -> int:
        """OnPaymentSuccess written straight into Kafka; returns the partition."""
        data = payment(order_id, lines)
        return self.raw.publish(self.wire(PAID), data, key or str(order_id), event_id)

    def raw_reject(self, order_id: int, lines: Sequence[tuple[SkuRef, int]], key: str) -> int:
        return self.raw.publish(self.wire(REJECTED), rejection(order_id, lines), key)

    def outcomes(self, order_id: int, topic: str | None = None) -> list[Outcome]:
        """Outcome events of the order the simulator received, in arrival order."""
        return [Outcome.of(r) for r in self.sim.received(order_id=order_id, topic=topic)]

    def wait_outcomes(
        self, order_id: int, count: int = 1, topic: str | None = None, timeout: float = 60
    ) -> list[Outcome]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.outcomes(order_id, topic)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                everything = [(r.topic, r.id, r.data) for r in self.sim.received(order_id=order_id)]
                raise AssertionError(
                    f"order {order_id}: {len(found)} of {count} outcome events on "
                    f"{topic or 'any topic'} after {timeout}s; outbox: {self.outbox(order_id)}; "
                    f"all received for this order: {everything}"
                )
            time.sleep(0.05)

    def wait_outcome(self, order_id: int, topic: str | None = None, timeout: float = 60) -> Outcome:
        return self.wait_outcomes(order_id, 1, topic, timeout)[0]

    # -- barriers ----------------------------------------------------------------------------

    def barrier_behind_payments(self, key: str) -> None:
        """Returns once every OnPaymentSuccess keyed `key` sent so far has been decided.

        A sentinel payment is written into the same partition (same key): Dapr hands a
        partition's messages to the app in order, so they were decided (in the database) no
        later than the sentinel. Their outcome events are keyed by their own order ids, on other
        partitions, and may reach the simulator after the sentinel's: wait for those apart.
        """
        sentinel = self.new_order_id()
        self.raw_pay(sentinel, [(self._barrier(), 1)], key=key)
        self.wait_outcome(sentinel, timeout=90)

    def barrier_behind_rejections(self, key: str) -> None:
        """The same for OnInventoryDeductSuccessDLQ: a never-paid order's revert as sentinel
        (its order's outcome events, too, may arrive after the sentinel's)."""
        sentinel = self.new_order_id()
        self.raw_reject(sentinel, [], key=key)
        self.wait_outcome(sentinel, topic=REVERTED, timeout=90)

    def _barrier(self) -> SkuRef:
        if self._barrier_sku is None:
            self._barrier_sku = self.new_sku(stock=1_000_000)
        return self._barrier_sku

    def warm_up(self, timeout: float = 120) -> None:
        """One order through the whole loop, so both consumers own their partitions."""
        sku = self._barrier()
        deadline = time.monotonic() + timeout
        while True:
            order_id = self.new_order_id()
            self.pay(order_id, [(sku, 1)])
            try:
                self.wait_outcome(order_id, timeout=10)
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise

    # -- the service's database ----------------------------------------------------------------

    def database_answers(self) -> bool:
        """False while MariaDB is stopped (any failure: it does not answer)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def ledger(self, order_id: int) -> list[tuple[int, str, int]]:
        """(sku id, kind, delta) of the ledger rows written for an order, oldest first."""
        with self.engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT sku_id, kind, delta FROM stock_ledger WHERE order_id = :o ORDER BY id"
                ),
                {"o": order_id},
            )
            return [(int(r.sku_id), str(r.kind), int(r.delta)) for r in rows]

    def outbox(self, order_id: int) -> list[tuple[str, str, bool]]:
        """(event id, topic, published) of the outbox rows of an order, in outbox order."""
        with self.engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT event_id, topic, published_at FROM outbox "
                    "WHERE message_key = :k ORDER BY id"
                ),
                {"k": str(order_id)},
            )
            return [
                (str(r.event_id), self.contract(str(r.topic)), r.published_at is not None)
                for r in rows
            ]


def payment(order_id: int, lines: Sequence[tuple[SkuRef, int]]) -> dict[str, Any]:
    return {
        "OrderId": order_id,
        "OrderDetails": [
            {"product_id": sku.product_id, "sku_id": sku.sku_id, "quantity": qty}
            for sku, qty in lines
        ],
    }


def rejection(order_id: int, lines: Sequence[tuple[SkuRef, int]]) -> dict[str, Any]:
    return {
        "OrderId": str(order_id),
        "Sku": [{"Id": str(sku.sku_id), "Quantity": qty} for sku, qty in lines],
    }


def distinct_ids(outcomes: Sequence[Outcome]) -> list[str]:
    """Event ids in order of first receipt (a re-sent event keeps its id)."""
    seen: list[str] = []
    for outcome in outcomes:
        if outcome.id not in seen:
            seen.append(outcome.id)
    return seen


def wait_published(world: World, order_id: int, rows: int, timeout: float = 60) -> list[Any]:
    """The order's outbox rows once `rows` of them are marked published."""
    deadline = time.monotonic() + timeout
    while True:
        outbox = world.outbox(order_id)
        if sum(1 for _, _, published in outbox if published) >= rows:
            return outbox
        assert time.monotonic() < deadline, f"outbox of order {order_id}: {outbox}"
        time.sleep(0.2)
