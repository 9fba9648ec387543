"""Random sequences of deduct, revert, adjust and duplicates keep the ledger and the model true."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from tests.fakes import MemoryStore, memory_runtime
from tests.inventory_machine import InventoryMachine


def build_in_memory():  # type: ignore[no-untyped-def]
    store = MemoryStore()
    return memory_runtime(store).inventory


class InMemoryInventoryMachine(InventoryMachine):
    build = staticmethod(build_in_memory)


InMemoryInventoryMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_ledger_reconciles_after_every_step = InMemoryInventoryMachine.TestCase
