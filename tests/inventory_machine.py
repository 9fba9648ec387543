"""A hypothesis state machine over deduct, revert, adjust and duplicates, with an oracle.

After every step the ledger must reconcile with stock for every SKU, no stock may be negative,
and stock must equal what a simple model of the rules predicts.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from product_service.application.results import OperationResult
from product_service.application.service import InventoryService
from product_service.domain.commands import AdjustStock, DeductInventory, RevertInventory
from product_service.domain.events import InventoryReverted
from product_service.domain.model import FailureReason, Outcome
from tests.factories import order, product_with

SKU_COUNT = 3
ORDER_IDS = st.integers(min_value=1, max_value=6)
LINES = st.lists(
    st.tuples(st.integers(0, SKU_COUNT - 1), st.integers(1, 4)), min_size=1, max_size=3
)


class InventoryMachine(RuleBasedStateMachine):
    """Subclasses set `build` to a function returning a fresh InventoryService."""

    build: Callable[[], InventoryService]

    def __init__(self) -> None:
        super().__init__()
        self.inventory = type(self).build()
        self.sku_ids: list[int] = []
        self.expected: dict[int, int] = {}
        self.deducted: dict[int, dict[int, int]] = {}  # order -> sku -> units, if it succeeded
        self.decided: dict[int, tuple[Outcome, FailureReason]] = {}  # settled deducts
        self.sent: dict[int, DeductInventory] = {}  # the last payload sent per order
        self.reverted: set[int] = set()

    @initialize(stocks=st.lists(st.integers(0, 8), min_size=SKU_COUNT, max_size=SKU_COUNT))
    def create_catalog(self, stocks: list[int]) -> None:
        product = self.inventory.create_product(product_with(*stocks))
        self.sku_ids = [sku.id for sku in product.skus]
        self.expected = {sku.id: sku.stock for sku in product.skus}

    @rule(order_id=ORDER_IDS, lines=LINES)
    def deduct(self, order_id: int, lines: list[tuple[int, int]]) -> None:
        command = order(order_id, *[(self.sku_ids[i], q) for i, q in lines])
        self.sent[order_id] = command
        result = self.inventory.deduct(command)
        if order_id in self.decided:  # a new payload for a decided order is still a duplicate
            self._assert_duplicate(order_id, result)
            return
        assert not result.duplicate and result.event is not None
        if order_id in self.reverted:
            assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.ORDER_REVERTED)
        else:
            wanted: dict[int, int] = {}
            for index, quantity in lines:
                sku_id = self.sku_ids[index]
                wanted[sku_id] = wanted.get(sku_id, 0) + quantity
            fits = all(self.expected[sku] >= q for sku, q in wanted.items())
            assert (result.outcome is Outcome.SUCCEEDED) == fits
            if fits:
                self.deducted[order_id] = wanted
                for sku, q in wanted.items():
                    self.expected[sku] -= q
        self.decided[order_id] = (result.outcome, result.reason)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.sent)))
        self._assert_duplicate(order_id, self.inventory.deduct(self.sent[order_id]))

    def _assert_duplicate(self, order_id: int, result: OperationResult) -> None:
        assert result.duplicate and result.event is None
        assert (result.outcome, result.reason) == self.decided[order_id]

    @rule(order_id=ORDER_IDS)
    def revert(self, order_id: int) -> None:
        result = self.inventory.revert(RevertInventory(order_id))
        assert result.duplicate == (order_id in self.reverted)
        if result.duplicate:
            assert result.event is None
            return
        given_back = {} if order_id in self.reverted else self.deducted.get(order_id, {})
        assert isinstance(result.event, InventoryReverted)
        assert {s.sku_id: s.quantity for s in result.event.skus} == given_back
        for sku, q in given_back.items():
            self.expected[sku] += q
        self.reverted.add(order_id)

    @rule(index=st.integers(0, SKU_COUNT - 1), delta=st.integers(-5, 5).filter(bool))
    def adjust(self, index: int, delta: int) -> None:
        sku_id = self.sku_ids[index]
        if self.expected[sku_id] + delta < 0:
            return  # refusals are covered by unit tests; keep the model simple
        assert self.inventory.adjust(AdjustStock(sku_id, delta, "property test")).stock == (
            self.expected[sku_id] + delta
        )
        self.expected[sku_id] += delta

    @invariant()
    def ledger_reconciles_and_stock_matches_the_model(self) -> None:
        if not self.sku_ids:
            return
        assert self.inventory.ledger_mismatches() == {}
        actual = {sku_id: self.inventory.sku(sku_id).stock for sku_id in self.sku_ids}
        assert actual == self.expected
        assert all(stock >= 0 for stock in actual.values())
