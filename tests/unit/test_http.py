"""The HTTP listener: probes, read-only operator views, and who may use the views."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from product_service.application.dead_letters import DeadLetters
from product_service.application.service import InventoryService
from product_service.domain.dead_letters import DeadLetterSeen
from product_service.infrastructure.db.outbox_store import Backlog
from product_service.interfaces.http import Probes, create_http_app
from product_service.interfaces.operator_access import OperatorAccess
from tests.factories import order, product_with
from tests.fakes import FixedClock, MemoryDeadLetterStore, MemoryStore, memory_runtime

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = "operator-token-for-the-unit-tests"
WITH_TOKEN = OperatorAccess(SecretStr(TOKEN), loopback_listener=False)
PROBES = ("/healthz", "/readyz", "/metrics")
VIEWS = ("/skus/1", "/orders/1", "/outbox", "/dead-letters", "/dead-letters/1")


@pytest.fixture
def inventory() -> InventoryService:
    return memory_runtime(MemoryStore()).inventory


def app_for(
    inventory: InventoryService,
    sidecar_up: bool = True,
    access: OperatorAccess = WITH_TOKEN,
    dead_letters: DeadLetters | None = None,
) -> FastAPI:
    probes = Probes(
        database=lambda: True,
        sidecar=lambda: sidecar_up,
        backlog=lambda: Backlog(2, NOW - timedelta(seconds=3)),
        now=lambda: NOW,
    )
    letters = dead_letters or DeadLetters(MemoryDeadLetterStore(), FixedClock())
    return create_http_app(inventory, letters, probes, access)


def client_for(
    inventory: InventoryService, sidecar_up: bool = True, dead_letters: DeadLetters | None = None
) -> TestClient:
    """A client of the operator: it sends the token."""
    client = TestClient(app_for(inventory, sidecar_up, dead_letters=dead_letters))
    client.headers["Authorization"] = f"Bearer {TOKEN}"
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


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


@pytest.mark.parametrize("path", VIEWS)
def test_an_operator_view_refuses_a_caller_without_the_token(
    inventory: InventoryService, path: str
) -> None:
    response = TestClient(app_for(inventory)).get(path)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "PRODUCT_HTTP_TOKEN" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [bearer("wrong-token-of-the-same-length!!!"), bearer(TOKEN[:-1]), {"Authorization": TOKEN}],
    ids=["wrong", "prefix", "not-bearer"],
)
def test_an_operator_view_refuses_a_wrong_token(
    inventory: InventoryService, headers: dict[str, str]
) -> None:
    assert TestClient(app_for(inventory)).get("/outbox", headers=headers).status_code == 401


@pytest.mark.parametrize("view", ["/skus/{sku}", "/orders/1", "/outbox"])
def test_an_operator_view_answers_the_right_token(inventory: InventoryService, view: str) -> None:
    sku = inventory.create_product(product_with(2)).skus[0]
    inventory.deduct(order(1, (sku.id, 1)))

    response = TestClient(app_for(inventory)).get(view.format(sku=sku.id), headers=bearer(TOKEN))

    assert response.status_code == 200


@pytest.mark.parametrize("path", PROBES)
@pytest.mark.parametrize(
    "access",
    [WITH_TOKEN, OperatorAccess(None, loopback_listener=False)],
    ids=["token-set", "no-token"],
)
def test_probes_answer_without_a_token(
    inventory: InventoryService, access: OperatorAccess, path: str
) -> None:
    assert TestClient(app_for(inventory, access=access)).get(path).status_code == 200


@pytest.mark.parametrize("path", VIEWS)
def test_without_a_token_set_views_beyond_loopback_answer_403_naming_the_setting(
    inventory: InventoryService, path: str
) -> None:
    pod = OperatorAccess.for_listener(None, "0.0.0.0")

    response = TestClient(app_for(inventory, access=pod)).get(path, headers=bearer(TOKEN))

    assert response.status_code == 403
    assert response.json()["detail"].startswith("PRODUCT_HTTP_TOKEN is not set")


def test_without_a_token_set_a_loopback_listener_answers_reads(
    inventory: InventoryService,
) -> None:
    local = OperatorAccess.for_listener(None, "127.0.0.1")

    assert TestClient(app_for(inventory, access=local)).get("/outbox").status_code == 200


@pytest.mark.parametrize(
    ("access", "headers", "status"),
    [
        (OperatorAccess.for_listener(None, "127.0.0.1"), {}, 403),
        (OperatorAccess.for_listener(SecretStr(TOKEN), "127.0.0.1"), {}, 401),
        (OperatorAccess.for_listener(SecretStr(TOKEN), "127.0.0.1"), bearer(TOKEN), 200),
    ],
    ids=["no-token-set", "token-missing", "token-sent"],
)
def test_an_action_needs_the_token_even_on_loopback(
    access: OperatorAccess, headers: dict[str, str], status: int
) -> None:
    operator = APIRouter(dependencies=[Depends(access.check)])
    operator.add_api_route("/replay", lambda: {"replayed": 1}, methods=["POST"])
    app = FastAPI()
    app.include_router(operator)

    assert TestClient(app).post("/replay", headers=headers).status_code == status


def test_every_route_but_the_probes_asks_for_the_token(inventory: InventoryService) -> None:
    """Also the routes added later: every one the OpenAPI document lists."""
    app = app_for(inventory)
    client = TestClient(app)
    paths = {p: ops for p, ops in app.openapi()["paths"].items() if p not in PROBES}

    assert set(paths) >= {"/skus/{sku_id}", "/orders/{order_id}", "/outbox"}
    for template, operations in paths.items():
        path = re.sub(r"\{[^}]+\}", "1", template)
        for method in operations:
            assert client.request(method, path).status_code == 401, f"{method} {template}"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.53", True), ("::1", True), ("localhost", True)]
    + [("0.0.0.0", False), ("::", False), ("10.1.2.3", False), ("product.svc", False)],
)
def test_only_a_loopback_listener_counts_as_loopback(host: str, loopback: bool) -> None:
    assert OperatorAccess.for_listener(None, host).loopback_listener is loopback
