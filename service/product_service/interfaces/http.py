"""The HTTP listener: health and readiness probes, read-only operator views, OpenAPI docs.

Every route but the probes is an operator route and needs the token (operator_access.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from pydantic import BaseModel

from product_service.application.dead_letters import DeadLetters
from product_service.application.errors import TransientError
from product_service.application.service import InventoryService
from product_service.domain.dead_letters import DeadLetter, DeadLetterFilter
from product_service.domain.errors import (
    DomainError,
    OrderNotFound,
    UnknownDeadLetter,
    UnknownSku,
)
from product_service.domain.limits import MAX_ID
from product_service.domain.model import InboxRecord, Sku
from product_service.infrastructure.db.outbox_store import Backlog
from product_service.interfaces.operator_access import OperatorAccess

T = TypeVar("T")
EntityId = Annotated[int, Path(ge=1, le=MAX_ID)]


@dataclass(frozen=True)
class Probes:
    database: Callable[[], bool]
    sidecar: Callable[[], bool]
    backlog: Callable[[], Backlog]
    now: Callable[[], datetime]


class SkuView(BaseModel):
    id: int
    product_id: int
    code: str
    price: Decimal
    stock: int
    warn_threshold: int
    sales: int
    status: str
    below_threshold: bool

    @classmethod
    def of(cls, sku: Sku) -> SkuView:
        return cls(
            id=sku.id,
            product_id=sku.product_id,
            code=sku.code,
            price=sku.price,
            stock=sku.stock,
            warn_threshold=sku.warn_threshold,
            sales=sku.sales,
            status=sku.status.value,
            below_threshold=sku.below_threshold,
        )


class OperationView(BaseModel):
    operation: str
    outcome: str
    reason: str
    message_id: str
    recorded_at: datetime

    @classmethod
    def of(cls, record: InboxRecord) -> OperationView:
        return cls(
            operation=record.operation.value,
            outcome=record.outcome.value,
            reason=record.reason.value,
            message_id=record.message_id,
            recorded_at=record.created_at,
        )


class OrderView(BaseModel):
    order_id: int
    operations: list[OperationView]


class DeadLetterView(BaseModel):
    id: int
    topic: str
    original_topic: str
    event_id: str
    order_id: int | None
    reason: str
    detail: str
    payload: str  # as text, undecodable bytes replaced
    payload_size: int
    truncated: bool
    first_seen_at: datetime
    last_seen_at: datetime
    times_seen: int
    discarded_at: datetime | None

    @classmethod
    def of(cls, letter: DeadLetter) -> DeadLetterView:
        return cls(
            id=letter.id,
            topic=letter.topic,
            original_topic=letter.original_topic,
            event_id=letter.event_id,
            order_id=letter.order_id,
            reason=letter.reason,
            detail=letter.detail,
            payload=letter.payload.decode(errors="replace"),
            payload_size=letter.payload_size,
            truncated=letter.truncated,
            first_seen_at=letter.first_seen_at,
            last_seen_at=letter.last_seen_at,
            times_seen=letter.times_seen,
            discarded_at=letter.discarded_at,
        )


class DeadLetterPage(BaseModel):
    dead_letters: list[DeadLetterView]
    next_after_id: int | None  # pass as after_id for the next page; null: this was the last


class OutboxView(BaseModel):
    backlog: int
    oldest_age_seconds: float | None


def create_http_app(
    inventory: InventoryService,
    dead_letters: DeadLetters,
    probes: Probes,
    access: OperatorAccess,
    registry: CollectorRegistry = REGISTRY,
) -> FastAPI:
    app = FastAPI(
        title="product-service",
        summary="Stock deduction for paid orders, beside a Dapr sidecar. Read-only views.",
    )
    _add_probes(app, probes, registry)
    operator = APIRouter(dependencies=[Depends(access.check)])  # a new route gets it too
    _add_operator_views(operator, inventory, probes)
    _add_dead_letter_views(operator, dead_letters)
    app.include_router(operator)
    return app


def _add_probes(app: FastAPI, probes: Probes, registry: CollectorRegistry) -> None:
    @app.get("/healthz", tags=["probes"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["probes"])
    def readyz() -> JSONResponse:
        checks = {"database": probes.database(), "sidecar": probes.sidecar()}
        return JSONResponse(checks, status_code=200 if all(checks.values()) else 503)

    @app.get("/metrics", tags=["probes"], response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _add_operator_views(app: APIRouter, inventory: InventoryService, probes: Probes) -> None:
    @app.get("/skus/{sku_id}", tags=["operator"])
    def sku(sku_id: EntityId) -> SkuView:
        return SkuView.of(_answer(lambda: inventory.sku(sku_id)))

    @app.get("/orders/{order_id}", tags=["operator"])
    def order(order_id: EntityId) -> OrderView:
        records = _answer(lambda: inventory.order_record(order_id))
        return OrderView(order_id=order_id, operations=[OperationView.of(r) for r in records])

    @app.get("/outbox", tags=["operator"])
    def outbox() -> OutboxView:
        backlog = _answer(probes.backlog)
        oldest = backlog.oldest_created_at
        age = (probes.now() - oldest).total_seconds() if oldest else None
        return OutboxView(backlog=backlog.unpublished, oldest_age_seconds=age)


def _add_dead_letter_views(app: APIRouter, dead_letters: DeadLetters) -> None:
    @app.get("/dead-letters", tags=["operator"])
    def list_dead_letters(
        topic: str | None = None,
        reason: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_id: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> DeadLetterPage:
        """Oldest first; `topic` is the topic a message was meant for; times in ISO 8601."""
        which = DeadLetterFilter(topic, reason, since, until, after_id=after_id, limit=limit)
        found = _answer(lambda: dead_letters.find(which))
        last = found[-1].id if len(found) == limit else None
        return DeadLetterPage(
            dead_letters=[DeadLetterView.of(d) for d in found], next_after_id=last
        )

    @app.get("/dead-letters/{dead_letter_id}", tags=["operator"])
    def dead_letter(dead_letter_id: EntityId) -> DeadLetterView:
        return DeadLetterView.of(_answer(lambda: dead_letters.get(dead_letter_id)))


def _answer(query: Callable[[], T]) -> T:
    try:
        return query()
    except (UnknownSku, OrderNotFound, UnknownDeadLetter) as exc:
        raise HTTPException(404, f"{exc.code}: {exc}") from None
    except DomainError as exc:
        raise HTTPException(400, f"{exc.code}: {exc}") from None
    except TransientError as exc:
        raise HTTPException(503, f"database unavailable: {exc}") from None
