"""Races the database decides: the loser of a duplicate race reports the winner's outcome,
and a revert that finds a deduction committing under it decides again and gives back what it
took."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from product_service.application.errors import (
    DuplicateOperation,
)
from product_service.application.service import InventoryService
from product_service.domain.commands import RevertInventory
from product_service.domain.events import InventoryDeductFailed, InventoryReverted, RevertedSku
from product_service.domain.model import FailureReason, InboxRecord, Operation, Outcome, Sku
from tests.factories import order, product_with
from tests.fakes import FakeUnitOfWork, FixedClock, MemoryStore, memory_runtime


class RacingUnitOfWork(FakeUnitOfWork):
    """Just before this unit of work inserts `operation` for an order, a rival commits it."""

    def __init__(self, store: MemoryStore, rival: InboxRecord) -> None:
        super().__init__(store)
        self._rival = rival

    def __enter__(self) -> RacingUnitOfWork:
        super().__enter__()
        store, rival, inbox = self._store, self._rival, self.inbox
        original_add_many = inbox.add_many

        def add_many_after_rival(records: Iterable[InboxRecord]) -> None:
            records = list(records)
            key = (rival.order_id, rival.operation)
            if key in {(r.order_id, r.operation) for r in records} and key not in store.state.inbox:
                store.state.inbox[key] = rival
                raise DuplicateOperation(str(key))
            original_add_many(records)

        inbox.add_many = add_many_after_rival  # type: ignore[method-assign]
        inbox.add = lambda record: add_many_after_rival([record])  # type: ignore[method-assign]
        return self


def racing_inventory(store: MemoryStore, rival: InboxRecord) -> InventoryService:
    return memory_runtime(store, uow_factory=lambda: RacingUnitOfWork(store, rival)).inventory


def test_the_loser_of_a_duplicate_race_reports_the_winners_outcome() -> None:
    store = MemoryStore()
    rival = InboxRecord(
        8,
        Operation.DEDUCT,
        "winner",
        Outcome.FAILED,
        FailureReason.INSUFFICIENT_STOCK,
        FixedClock().now(),
    )
    inventory = racing_inventory(store, rival)
    (sku,) = inventory.create_product(product_with(10)).skus
    result = inventory.deduct(order(8, (sku.id, 1), message_id="loser"))
    assert result.duplicate
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.INSUFFICIENT_STOCK)
    assert inventory.sku(sku.id).stock == 10
    assert store.state.outbox == []


def test_a_deduct_that_meets_a_committing_revert_still_publishes_its_refusal() -> None:
    store = MemoryStore()
    rival = InboxRecord(
        11,
        Operation.DEDUCT,
        "cancel",
        Outcome.PREEMPTED,
        FailureReason.ORDER_REVERTED,
        FixedClock().now(),
    )
    inventory = racing_inventory(store, rival)
    (sku,) = inventory.create_product(product_with(10)).skus
    result = inventory.deduct(order(11, (sku.id, 2), message_id="paid"))
    assert (result.outcome, result.reason, result.duplicate) == (
        Outcome.FAILED,
        FailureReason.ORDER_REVERTED,
        False,
    )
    assert isinstance(result.event, InventoryDeductFailed)
    assert store.state.outbox == [result.event]
    assert store.state.inbox[(11, Operation.DEDUCT)].outcome is Outcome.FAILED
    assert inventory.sku(sku.id).stock == 10


class DeductedMeanwhile(FakeUnitOfWork):
    """The first time this unit of work inserts its inbox rows, a real deduction of the same
    order commits just before it (another replica, or the API)."""

    def __init__(self, store: MemoryStore, rival: Callable[[], object]) -> None:
        super().__init__(store)
        self._rival: Callable[[], object] | None = rival

    def __enter__(self) -> DeductedMeanwhile:
        super().__enter__()
        original_add_many = self.inbox.add_many

        def add_many_after_rival(records: Iterable[InboxRecord]) -> None:
            if self._rival is not None:
                rival, self._rival = self._rival, None
                rival()
                raise DuplicateOperation("the deduction recorded the order first")
            original_add_many(records)

        self.inbox.add_many = add_many_after_rival  # type: ignore[method-assign]
        return self


def test_a_revert_that_meets_a_committing_deduction_decides_again_and_gives_its_stock_back() -> (
    None
):
    store = MemoryStore()
    plain = memory_runtime(store).inventory
    (sku,) = plain.create_product(product_with(10)).skus
    deduction = lambda: plain.deduct(order(9, (sku.id, 4), message_id="paid"))  # noqa: E731
    racing = memory_runtime(
        store, uow_factory=lambda: DeductedMeanwhile(store, deduction)
    ).inventory
    result = racing.revert(RevertInventory(9, "cancel"))
    assert (result.outcome, result.duplicate) == (Outcome.SUCCEEDED, False)
    assert result.event == InventoryReverted(9, (RevertedSku(sku.id, 4, 10),))
    assert store.state.inbox[(9, Operation.DEDUCT)].outcome is Outcome.SUCCEEDED
    assert store.state.inbox[(9, Operation.REVERT)].message_id == "cancel"
    assert (store.state.skus[sku.id].stock, store.state.skus[sku.id].sales) == (10, 0)
    assert plain.ledger_mismatches() == {}


def test_a_deduct_that_finds_its_preempted_slot_settled_meanwhile_reports_a_duplicate() -> None:
    store = MemoryStore()
    inventory = memory_runtime(store).inventory
    (sku,) = inventory.create_product(product_with(10)).skus
    inventory.revert(RevertInventory(10))
    key = (10, Operation.DEDUCT)
    winner = replace(store.state.inbox[key], outcome=Outcome.FAILED, message_id="winner")

    class SettledMeanwhile(FakeUnitOfWork):
        def __enter__(self) -> SettledMeanwhile:
            super().__enter__()

            def rival_settles_first(expected: Outcome, record: InboxRecord) -> bool:
                store.state.inbox[key] = winner
                return False

            self.inbox.transition = rival_settles_first  # type: ignore[method-assign]
            return self

    racing = memory_runtime(store, uow_factory=lambda: SettledMeanwhile(store)).inventory
    result = racing.deduct(order(10, (sku.id, 1), message_id="loser"))
    assert result.duplicate
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.ORDER_REVERTED)
    assert inventory.order_record(10)[-1].message_id == "winner"
    assert inventory.sku(sku.id).stock == 10


class StaleRead(FakeUnitOfWork):
    """A plain read of the SKUs says there is plenty; only the locked rows tell the truth."""

    def __enter__(self) -> StaleRead:
        super().__enter__()
        real_get_many = self.skus.get_many

        def plenty(sku_ids: Iterable[int]) -> dict[int, Sku]:
            return {i: replace(s, stock=10**6) for i, s in real_get_many(sku_ids).items()}

        self.skus.get_many = plenty  # type: ignore[method-assign]
        return self


def test_an_order_is_decided_against_its_locked_rows_and_names_the_short_line() -> None:
    store = MemoryStore()
    inventory = memory_runtime(store, uow_factory=lambda: StaleRead(store)).inventory
    first, second = inventory.create_product(product_with(10, 3)).skus
    result = inventory.deduct(order(12, (first.id, 3), (second.id, 4)))
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.INSUFFICIENT_STOCK)
    assert [store.state.skus[s.id].stock for s in (first, second)] == [10, 3]
    assert store.state.skus[first.id].sales == 0
    failed = result.event
    assert isinstance(failed, InventoryDeductFailed)
    assert [(line.reason, line.available) for line in failed.lines] == [
        (FailureReason.NONE, 10),
        (FailureReason.INSUFFICIENT_STOCK, 3),
    ]
    assert inventory.ledger_mismatches() == {}
