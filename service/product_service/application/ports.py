"""Ports: what the use cases need from the outside world, as abstract classes."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from types import TracebackType

from product_service.application.errors import LockHeld
from product_service.domain.commands import NewSku
from product_service.domain.events import OutcomeEvent
from product_service.domain.model import (
    InboxRecord,
    Operation,
    Outcome,
    Sku,
    StockLedgerEntry,
)


class SkuRepository(abc.ABC):
    @abc.abstractmethod
    def get_many(self, sku_ids: Iterable[int]) -> dict[int, Sku]: ...

    @abc.abstractmethod
    def get_by_code(self, code: str) -> Sku | None: ...

    @abc.abstractmethod
    def list_for_product(self, product_id: int) -> list[Sku]: ...

    @abc.abstractmethod
    def stock_levels(self) -> dict[int, int]:
        """Stock of every SKU, by id."""

    @abc.abstractmethod
    def add(self, product_id: int, new: NewSku) -> Sku:
        """Raises DuplicateSkuCode when the code exists."""

    @abc.abstractmethod
    def try_adjust(self, sku_id: int, delta: int, max_stock: int) -> bool:
        """stock += delta iff the result stays within 0..max_stock."""

    @abc.abstractmethod
    def lock_many(self, sku_ids: Iterable[int]) -> dict[int, Sku]:
        """Reads the SKUs and keeps them locked until the transaction ends (ascending id)."""

    @abc.abstractmethod
    def take_many(self, units_by_sku: Mapping[int, int]) -> None:
        """stock -= units and sales += units (negative units give back) for SKUs locked by
        lock_many and decided by a StockBook; the database refuses a negative stock."""

    def get(self, sku_id: int) -> Sku | None:
        return self.get_many([sku_id]).get(sku_id)


class ProductRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, name: str, created_at: datetime) -> int: ...

    @abc.abstractmethod
    def name_of(self, product_id: int) -> str | None: ...


class Ledger(abc.ABC):
    @abc.abstractmethod
    def append(self, entries: Iterable[StockLedgerEntry]) -> None: ...

    @abc.abstractmethod
    def deducted_by_order(self, order_id: int) -> dict[int, int]:
        """Units each SKU lost to this order's deduction (ascending SKU id)."""

    @abc.abstractmethod
    def balances(self) -> dict[int, int]:
        """Sum of deltas per SKU: must equal each SKU's stock."""


class Inbox(abc.ABC):
    @abc.abstractmethod
    def get(self, order_id: int, operation: Operation) -> InboxRecord | None: ...

    @abc.abstractmethod
    def list_for_order(self, order_id: int) -> list[InboxRecord]: ...

    @abc.abstractmethod
    def get_many(self, order_ids: Iterable[int], operation: Operation) -> dict[int, InboxRecord]:
        """The records of these orders for one operation, by order id."""

    @abc.abstractmethod
    def add(self, record: InboxRecord) -> None:
        """Raises DuplicateOperation when (order_id, operation) is already recorded."""

    @abc.abstractmethod
    def add_many(self, records: Iterable[InboxRecord]) -> None:
        """All or none; raises DuplicateOperation when one of them is already recorded."""

    @abc.abstractmethod
    def transition(self, expected: Outcome, record: InboxRecord) -> bool:
        """Replaces the record iff its stored outcome is `expected`."""


class Outbox(abc.ABC):
    @abc.abstractmethod
    def add(self, event: OutcomeEvent, created_at: datetime) -> None:
        """Stores the event for publishing after commit, keyed by its order id."""

    @abc.abstractmethod
    def add_many(self, events: Sequence[OutcomeEvent], created_at: datetime) -> None:
        """Stores the events in this order."""


class OutboxNotifier(abc.ABC):
    """Told after a commit that stored an outcome event, so the relay publishes it at once; the
    stored row carries the event's `event_id`."""

    @abc.abstractmethod
    def committed(self, event: OutcomeEvent) -> None: ...


class NoNotifier(OutboxNotifier):
    """Without a relay in this process the rows wait in the outbox for the sweeper."""

    def committed(self, event: OutcomeEvent) -> None:
        pass


class UnitOfWork(abc.ABC):
    """One database transaction. Leaving the block without commit() rolls back."""

    skus: SkuRepository
    products: ProductRepository
    ledger: Ledger
    inbox: Inbox
    outbox: Outbox

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an exception leaving the block undoes only the block."""
        yield  # pragma: no cover

    @abc.abstractmethod
    def rollback(self) -> None: ...


class DistributedLock(abc.ABC):
    """Defence in depth across replicas; never the source of correctness."""

    @abc.abstractmethod
    @contextmanager
    def hold(self, resource: str) -> Iterator[None]:
        """Raises LockHeld when another owner has the resource; the lease expires by itself."""
        yield  # pragma: no cover

    @contextmanager
    def hold_many(self, resources: Sequence[str]) -> Iterator[dict[str, LockHeld]]:
        """Holds every resource it can; yields the ones held elsewhere with their refusal."""
        refused: dict[str, LockHeld] = {}
        with ExitStack() as held:
            for resource in resources:
                try:
                    held.enter_context(self.hold(resource))
                except LockHeld as exc:
                    refused[resource] = exc
            yield refused


class NoLock(DistributedLock):
    """For the embedded profile: a single process needs no distributed lock."""

    @contextmanager
    def hold(self, resource: str) -> Iterator[None]:
        yield


class Lease(abc.ABC):
    """A once-per-cluster job's turn (outbox sweeper, retention): one replica at a time holds
    it, for a term that it renews while it lives; when its holder dies, the lease expires and
    another replica takes it."""

    @abc.abstractmethod
    def held(self) -> bool:
        """True while this replica holds the lease, taking it when it is free."""

    def release(self) -> None:  # noqa: B027 - a lease without a store has nothing to give back
        """Gives the lease back (on shutdown), so another replica need not wait for its term."""


class AlwaysHeld(Lease):
    """For a single process without a lock store: it is the only replica."""

    def held(self) -> bool:
        return True


class Clock(abc.ABC):
    @abc.abstractmethod
    def now(self) -> datetime: ...


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)
