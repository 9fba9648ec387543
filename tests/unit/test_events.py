"""Outcome events: each carries an id derived once from its kind and its order."""

from __future__ import annotations

from product_service.domain.events import (
    InventoryDeducted,
    InventoryDeductFailed,
    InventoryReverted,
)
from product_service.domain.model import FailureReason


def test_event_ids_are_stable_per_event_type_and_order() -> None:
    first = InventoryReverted(3, ())
    assert InventoryReverted(3, ()).event_id == first.event_id
    assert InventoryReverted(4, ()).event_id != first.event_id
    assert InventoryDeducted(3, ()).event_id != first.event_id


def test_event_ids_are_the_ones_earlier_versions_stored() -> None:
    # Rows already in an outbox and events already consumed carry these: the rule must not move.
    assert InventoryDeducted(1001, ()).event_id == "87a9b6a9-178b-59f2-9be1-8c2a2abae7d7"
    assert InventoryReverted(1001, ()).event_id == "3c30a576-74e1-56e8-a39d-eaa8542f0ce8"
    failed = InventoryDeductFailed(1001, FailureReason.UNKNOWN_SKU, ())
    assert failed.event_id == "d171f30d-003d-5cf3-8e3c-381a15228264"


def test_the_id_is_derived_so_it_takes_no_part_in_equality_or_repr() -> None:
    assert InventoryReverted(3, ()) == InventoryReverted(3, ())
    assert "event_id" not in repr(InventoryReverted(3, ()))
