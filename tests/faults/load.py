"""The load of a fault scenario: a plan of paid orders (and poison messages) over a few hot SKUs,
sent at a steady rate from a thread while the test breaks something."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tests.e2e.world import SkuRef

Lines = tuple[tuple[SkuRef, int], ...]


@dataclass(frozen=True)
class Paid:
    order_id: int
    lines: Lines

    def merged(self) -> dict[int, int]:
        """Quantity per SKU id (the service merges lines of one SKU)."""
        total: Counter[int] = Counter()
        for sku, qty in self.lines:
            total[sku.sku_id] += qty
        return dict(total)


@dataclass(frozen=True)
class Poison:
    """A malformed OnPaymentSuccess; `marker` appears in its data, to find it again."""

    marker: str
    body: bytes
    content_type: str
    key: str


Message = Paid | Poison


@dataclass
class Plan:
    orders: list[Paid]
    poison: list[Poison]
    messages: list[Message]


def plan_orders(
    rng: random.Random,
    skus: Sequence[SkuRef],
    order_ids: Callable[[], int],
    count: int,
    poison_every: int = 0,
    token: str = "",
) -> Plan:
    """`count` orders of 1-3 lines (a SKU may repeat: lines are merged), quantities 1-3;
    with `poison_every` = n, every n-th message is poison instead (n=10: 10% poison)."""
    orders: list[Paid] = []
    poison: list[Poison] = []
    messages: list[Message] = []
    while len(orders) < count:
        if poison_every and (len(messages) + 1) % poison_every == 0:
            bad = make_poison(rng, skus, order_ids(), token, key=str(orders[-1].order_id))
            poison.append(bad)
            messages.append(bad)
            continue
        lines = tuple((rng.choice(skus), rng.randint(1, 3)) for _ in range(rng.randint(1, 3)))
        order = Paid(order_ids(), lines)
        orders.append(order)
        messages.append(order)
    return Plan(orders, poison, messages)


def demand(orders: Sequence[Paid]) -> Counter[int]:
    total: Counter[int] = Counter()
    for order in orders:
        total.update(order.merged())
    return total


POISON_KINDS = ("quantity-text", "quantity-zero", "quantity-negative", "no-lines", "not-json")


def make_poison(
    rng: random.Random, skus: Sequence[SkuRef], order_id: int, token: str, key: str
) -> Poison:
    """One of the malformed payloads the service must DROP: each goes to the dead-letter
    topic, nothing written. Unknown fields are ignored by the service, so `Note` carries the
    marker where the payload itself cannot."""
    kind = POISON_KINDS[order_id % len(POISON_KINDS)]
    marker = f"poison-{token}-{order_id}-{kind}"
    if kind == "not-json":
        return Poison(marker, f"{marker}: not an order".encode(), "text/plain", key)
    sku = rng.choice(skus)
    line: dict[str, object] = {"product_id": sku.product_id, "sku_id": sku.sku_id}
    line["quantity"] = {"quantity-text": marker, "quantity-zero": 0, "quantity-negative": -2}.get(
        kind, 1
    )
    details = [] if kind == "no-lines" else [line]
    data = {"OrderId": order_id, "OrderDetails": details, "Note": marker}
    return Poison(marker, json.dumps(data).encode(), "application/json", key)


@dataclass
class Stream:
    """Sends the plan's messages at `rate` per second from a thread; a send that fails is
    retried (the order service would retry a publish too) until `give_up` seconds."""

    messages: Sequence[Message]
    send: Callable[[Message], None]
    rate: float
    give_up: float = 240
    sent: int = 0
    errors: list[BaseException] = field(default_factory=list)
    _progress: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None
    finished_at: float | None = None

    def start(self) -> Stream:
        self._thread = threading.Thread(target=self._run, name="fault-stream", daemon=True)
        self._thread.start()
        return self

    @property
    def duration(self) -> float:
        return len(self.messages) / self.rate

    def wait_sent(self, fraction: float, timeout: float = 300) -> None:
        """Blocks until `fraction` of the messages were sent."""
        goal = int(len(self.messages) * fraction)
        with self._progress:
            done = self._progress.wait_for(
                lambda: self.sent >= goal or bool(self.errors), timeout=timeout
            )
        assert done and not self.errors, f"stream: {self.sent} sent, errors {self.errors}"

    def finish(self, timeout: float = 600) -> None:
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"stream still sending after {timeout}s"
        assert not self.errors, f"stream could not send: {self.errors}"

    def _run(self) -> None:
        t0 = time.monotonic()
        try:
            for n, message in enumerate(self.messages):
                pause = t0 + n / self.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                self._send_with_retries(message)
                with self._progress:
                    self.sent += 1
                    self._progress.notify_all()
        except BaseException as exc:  # reported by the test thread
            with self._progress:
                self.errors.append(exc)
                self._progress.notify_all()
        self.finished_at = time.monotonic()

    def _send_with_retries(self, message: Message) -> None:
        deadline = time.monotonic() + self.give_up
        while True:
            try:
                self.send(message)
                return
            except Exception:  # a sidecar error, or the raw producer's delivery failed
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
