"""The HTTP listener: probes and read-only operator views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from product_service.application.dead_letters import DeadLetters
from product_service.application.service import InventoryService
from product_service.domain.dead_letters import DeadLetterSeen
from product_service.infrastructure.db.outbox_store import Backlog
from product_service.interfaces.http import Probes, create_http_app
from tests.factories import order, product_with
from tests.fakes import FixedClock, MemoryDeadLetterStore, MemoryStore, memory_runtime

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def inventory() -> InventoryService:
    return memory_runtime(MemoryStore()).inventory


def client_for(
    inventory: InventoryService, sidecar_up: bool = True, dead_letters: DeadLetters | None = None
) -> TestClient:
    probes = Probes(
        database=lambda: True,
        sidecar=lambda: sidecar_up,
        backlog=lambda: Backlog(2, NOW - timedelta(seconds=3)),
        now=lambda: NOW,
    )
    letters = dead_letters or DeadLetters(MemoryDeadLetterStore(), FixedClock())
    return TestClient(create_http_app(inventory, letters, probes))


def test_readiness_names_what_is_missing(inventory: InventoryService) -> None:
    assert client_for(inventory).get("/readyz").status_code == 200

    response = client_for(inventory, sidecar_up=False).get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"database": True, "sidecar": False}


def test_sku_view_shows_stock_and_threshold(inventory: InventoryService) -> None:
    sku = inventory.create_product(product_with(2)).skus[0]

    body = client_for(inventory).get(f"/skus/{sku.id}").json()

    assert (body["stock"], body["warn_threshold"], body["below_threshold"]) == (2, 2, True)


def test_order_view_shows_the_recorded_outcome(inventory: InventoryService) -> None:
    sku = inventory.create_product(product_with(1)).skus[0]
    inventory.deduct(order(9, (sku.id, 5)))

    body = client_for(inventory).get("/orders/9").json()

    assert [(o["operation"], o["outcome"], o["reason"]) for o in body["operations"]] == [
        ("DEDUCT", "FAILED", "INSUFFICIENT_STOCK")
    ]


def test_unknown_and_invalid_ids_are_clear_errors(inventory: InventoryService) -> None:
    client = client_for(inventory)

    assert client.get("/skus/42").status_code == 404
    assert client.get("/orders/42").json()["detail"].startswith("ORDER_NOT_FOUND")
    assert client.get("/skus/0").status_code == 422


def test_outbox_view_reports_backlog_and_age(inventory: InventoryService) -> None:
    assert client_for(inventory).get("/outbox").json() == {
        "backlog": 2,
        "oldest_age_seconds": 3.0,
    }


def seen(event_id: str, reason: str = "INVALID_JSON", order_id: int | None = 7) -> DeadLetterSeen:
    return DeadLetterSeen(
        "OnPaymentSuccess.dead-letter",
        "OnPaymentSuccess",
        event_id,
        order_id,
        reason,
        "why",
        b'{"OrderId": "7"',
        "application/json",
    )


def test_dead_letters_are_listed_by_filter_in_pages_and_shown_one_by_one(
    inventory: InventoryService,
) -> None:
    letters = DeadLetters(MemoryDeadLetterStore(), FixedClock())
    for n in range(3):
        letters.record(seen(f"e-{n}", reason="RETRIES_EXHAUSTED" if n else "INVALID_JSON"))
    client = client_for(inventory, dead_letters=letters)

    first = client.get("/dead-letters", params={"limit": 1, "reason": "RETRIES_EXHAUSTED"}).json()
    rest = client.get(
        "/dead-letters", params={"after_id": first["next_after_id"], "reason": "RETRIES_EXHAUSTED"}
    ).json()
    one = client.get("/dead-letters/1").json()

    assert [d["event_id"] for d in first["dead_letters"]] == ["e-1"]
    assert [d["event_id"] for d in rest["dead_letters"]] == ["e-2"]
    assert rest["next_after_id"] is None
    assert (one["reason"], one["payload"], one["times_seen"]) == (
        "INVALID_JSON",
        '{"OrderId": "7"',
        1,
    )
    assert client.get("/dead-letters/99").status_code == 404
    assert client.get("/dead-letters", params={"limit": 0}).status_code == 422
