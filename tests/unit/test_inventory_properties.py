"""Random sequences of deduct, revert, adjust and duplicates keep the ledger and the model true."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from product_service.bootstrap import bootstrap
from product_service.infrastructure.settings import Settings
from tests.fakes import FakeUnitOfWork, FixedClock, MemoryStore
from tests.inventory_machine import InventoryMachine


def build_in_memory():  # type: ignore[no-untyped-def]
    store = MemoryStore()
    return bootstrap(
        Settings(), uow_factory=lambda: FakeUnitOfWork(store), clock=FixedClock()
    ).inventory


class InMemoryInventoryMachine(InventoryMachine):
    build = staticmethod(build_in_memory)


InMemoryInventoryMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_ledger_reconciles_after_every_step = InMemoryInventoryMachine.TestCase
