"""In-memory adapters for our own ports: a transactional store of dicts, copied per unit of work."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from product_service.application import ports
from product_service.application.dead_letters import DeadLetterStore
from product_service.application.errors import DuplicateOperation, TransientError
from product_service.bootstrap import Adapters, Runtime, build_runtime
from product_service.domain.commands import NewSku
from product_service.domain.dead_letters import DeadLetter, DeadLetterFilter, DeadLetterSeen
from product_service.domain.errors import DuplicateSkuCode
from product_service.domain.events import OutcomeEvent
from product_service.domain.model import (
    InboxRecord,
    LedgerKind,
    Operation,
    Outcome,
    Sku,
    StockLedgerEntry,
)
from product_service.infrastructure.db.tables import DEAD_LETTER_PAYLOAD_BYTES
from product_service.infrastructure.settings import Settings


@dataclass
class MemoryState:
    products: dict[int, str] = field(default_factory=dict)
    skus: dict[int, Sku] = field(default_factory=dict)
    ledger: list[StockLedgerEntry] = field(default_factory=list)
    inbox: dict[tuple[int, Operation], InboxRecord] = field(default_factory=dict)
    outbox: list[OutcomeEvent] = field(default_factory=list)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class MemoryStore:
    """The committed state; each unit of work works on a copy and swaps it in on commit."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.lock = threading.Lock()
        self.commits = 0
        self.reachable = True  # False: every unit of work fails as a database that is down
        self.dead_letters = MemoryDeadLetterStore()


class FakeSkuRepository(ports.SkuRepository):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def get_many(self, sku_ids: Iterable[int]) -> dict[int, Sku]:
        return {i: self._state.skus[i] for i in sorted(set(sku_ids)) if i in self._state.skus}

    def get_by_code(self, code: str) -> Sku | None:
        return next((s for s in self._state.skus.values() if s.code == code), None)

    def list_for_product(self, product_id: int) -> list[Sku]:
        return [s for s in self._state.skus.values() if s.product_id == product_id]

    def stock_levels(self) -> dict[int, int]:
        return {i: s.stock for i, s in self._state.skus.items()}

    def add(self, product_id: int, new: NewSku) -> Sku:
        if self.get_by_code(new.code) is not None:
            raise DuplicateSkuCode(new.code)
        sku = Sku(
            self._state.new_id(),
            product_id,
            new.code,
            new.price,
            new.stock,
            new.warn_threshold,
            status=new.status,
        )
        self._state.skus[sku.id] = sku
        return sku

    def try_adjust(self, sku_id: int, delta: int, max_stock: int) -> bool:
        sku = self._state.skus.get(sku_id)
        if sku is None or not 0 <= sku.stock + delta <= max_stock:
            return False
        self._change(sku, stock=sku.stock + delta)
        return True

    def lock_many(self, sku_ids: Iterable[int]) -> dict[int, Sku]:
        # One writer at a time (commit swaps the whole state): reading the rows locks them.
        skus = self._state.skus
        return {i: skus[i] for i in sorted(set(sku_ids)) if i in skus}

    def take_many(self, units_by_sku: Mapping[int, int]) -> None:
        for sku_id, units in units_by_sku.items():
            sku = self._state.skus[sku_id]
            self._change(sku, stock=sku.stock - units, sales=sku.sales + units)

    def _change(self, sku: Sku, **values: Any) -> None:
        assert values.get("stock", 0) >= 0, "the CHECK constraint would refuse this"
        self._state.skus[sku.id] = replace(sku, **values)


class FakeProductRepository(ports.ProductRepository):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def add(self, name: str, created_at: datetime) -> int:
        product_id = self._state.new_id()
        self._state.products[product_id] = name
        return product_id

    def name_of(self, product_id: int) -> str | None:
        return self._state.products.get(product_id)


class FakeLedger(ports.Ledger):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def append(self, entries: Iterable[StockLedgerEntry]) -> None:
        self._state.ledger.extend(entries)

    def deducted_by_order(self, order_id: int) -> dict[int, int]:
        totals: dict[int, int] = {}
        for e in self._state.ledger:
            if e.order_id == order_id and e.kind is LedgerKind.DEDUCT:
                totals[e.sku_id] = totals.get(e.sku_id, 0) - e.delta
        return dict(sorted(totals.items()))

    def balances(self) -> dict[int, int]:
        totals: dict[int, int] = {}
        for e in self._state.ledger:
            totals[e.sku_id] = totals.get(e.sku_id, 0) + e.delta
        return totals


class FakeInbox(ports.Inbox):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def get(self, order_id: int, operation: Operation) -> InboxRecord | None:
        return self._state.inbox.get((order_id, operation))

    def list_for_order(self, order_id: int) -> list[InboxRecord]:
        return [r for (o, _), r in self._state.inbox.items() if o == order_id]

    def get_many(self, order_ids: Iterable[int], operation: Operation) -> dict[int, InboxRecord]:
        found = (self._state.inbox.get((order_id, operation)) for order_id in order_ids)
        return {record.order_id: record for record in found if record is not None}

    def add(self, record: InboxRecord) -> None:
        key = (record.order_id, record.operation)
        if key in self._state.inbox:
            raise DuplicateOperation(str(key))
        self._state.inbox[key] = record

    def add_many(self, records: Iterable[InboxRecord]) -> None:
        records = list(records)
        keys = [(r.order_id, r.operation) for r in records]
        if len(set(keys)) < len(keys) or any(key in self._state.inbox for key in keys):
            raise DuplicateOperation(str(keys))
        for key, record in zip(keys, records, strict=True):
            self._state.inbox[key] = record

    def transition(self, expected: Outcome, record: InboxRecord) -> bool:
        current = self._state.inbox.get((record.order_id, record.operation))
        if current is None or current.outcome is not expected:
            return False
        self._state.inbox[(record.order_id, record.operation)] = record
        return True


class FakeOutbox(ports.Outbox):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def add(self, event: OutcomeEvent, created_at: datetime) -> None:
        self._state.outbox.append(event)

    def add_many(self, events: Sequence[OutcomeEvent], created_at: datetime) -> None:
        self._state.outbox.extend(events)


class FakeUnitOfWork(ports.UnitOfWork):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._working: MemoryState | None = None

    def __enter__(self) -> FakeUnitOfWork:
        if not self._store.reachable:
            raise TransientError("database unreachable")
        with self._store.lock:
            self._working = copy.deepcopy(self._store.state)
        self.skus = FakeSkuRepository(self._working)
        self.products = FakeProductRepository(self._working)
        self.ledger = FakeLedger(self._working)
        self.inbox = FakeInbox(self._working)
        self.outbox = FakeOutbox(self._working)
        return self

    def commit(self) -> None:
        assert self._working is not None
        with self._store.lock:
            self._store.state = self._working
            self._store.commits += 1
        self._working = copy.deepcopy(self._working)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        assert self._working is not None
        before = copy.deepcopy(self._working)
        try:
            yield
        except BaseException:
            vars(self._working).update(vars(before))  # the repositories share this object
            raise

    def rollback(self) -> None:
        self._working = None


class FixedClock(ports.Clock):
    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(milliseconds=1)
        return self.moment


def memory_runtime(
    store: MemoryStore,
    settings: Settings | None = None,
    *,
    uow_factory: Callable[[], ports.UnitOfWork] | None = None,
    clock: ports.Clock | None = None,
) -> Runtime:
    """The service as `serve` builds it, with `store` for its database and no lock store.

    Its SQL engine (in memory), outbox relay and sweeper exist but are not used: the outbox is
    `store`'s, read by the tests."""
    settings = (settings or Settings()).model_copy(update=IN_MEMORY)
    adapters = Adapters(
        uow_factory=uow_factory or (lambda: FakeUnitOfWork(store)),
        clock=clock or FixedClock(),
        dead_letter_store=store.dead_letters,
    )
    return build_runtime(settings, adapters)


# An unused in-memory engine, and no lock store (no sidecar runs in these tests).
IN_MEMORY = {"database_url": "sqlite:///:memory:", "lock_store_name": ""}


class MemoryDeadLetterStore(DeadLetterStore):
    """Dead letters in a dict; `outbox` collects what replays would publish."""

    def __init__(self) -> None:
        self.letters: dict[int, DeadLetter] = {}
        self.replays: dict[tuple[str, int], str] = {}  # (request, letter) -> by
        self.outbox: list[tuple[str, str, bytes]] = []  # (topic, CloudEvent id, payload)
        self.reachable = True

    def record(self, seen: DeadLetterSeen, at: datetime) -> tuple[DeadLetter, bool]:
        if not self.reachable:
            raise TransientError("database unreachable")
        for letter in self.letters.values():
            if (letter.original_topic, letter.event_id) == (seen.original_topic, seen.event_id):
                again = replace(letter, last_seen_at=at, times_seen=letter.times_seen + 1)
                self.letters[letter.id] = again
                return again, False
        new = DeadLetter(
            len(self.letters) + 1,
            seen.topic,
            seen.original_topic,
            seen.event_id,
            seen.order_id,
            seen.reason,
            seen.detail,
            seen.payload[:DEAD_LETTER_PAYLOAD_BYTES],
            len(seen.payload),
            seen.content_type,
            at,
            at,
            1,
        )
        self.letters[new.id] = new
        return new, True

    def find(self, which: DeadLetterFilter) -> list[DeadLetter]:
        found = [
            letter
            for letter in self.letters.values()
            if letter.id > which.after_id
            and which.topic in (None, letter.original_topic)
            and which.reason in (None, letter.reason)
            and (which.since is None or letter.first_seen_at >= which.since)
            and (which.until is None or letter.first_seen_at < which.until)
            and (which.include_discarded or letter.discarded_at is None)
        ]
        return sorted(found, key=lambda letter: letter.id)[: which.limit]

    def get_many(self, ids: Sequence[int]) -> dict[int, DeadLetter]:
        return {i: self.letters[i] for i in ids if i in self.letters}

    def replay(
        self, letters: Sequence[DeadLetter], request_id: str, by: str, at: datetime
    ) -> list[int]:
        fresh = [letter for letter in letters if (request_id, letter.id) not in self.replays]
        for letter in fresh:
            self.replays[(request_id, letter.id)] = by
            self.outbox.append((letter.original_topic, letter.event_id, letter.payload))
        return [letter.id for letter in fresh]

    def replays_by_topic(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _request, letter_id in self.replays:
            topic = self.letters[letter_id].original_topic
            counts[topic] = counts.get(topic, 0) + 1
        return counts

    def discard(self, ids: Sequence[int], at: datetime) -> list[int]:
        found = [
            i for i in dict.fromkeys(ids) if i in self.letters and not self.letters[i].discarded_at
        ]
        for i in found:
            self.letters[i] = replace(self.letters[i], discarded_at=at)
        return found
