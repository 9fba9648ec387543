"""The HTTP listener: health and readiness probes, read-only operator views, OpenAPI docs.

Every route but the probes is an operator route and needs the token (operator_access.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from pydantic import BaseModel

from product_service.application.errors import TransientError
from product_service.application.service import InventoryService
from product_service.domain.errors import DomainError, OrderNotFound, UnknownSku
from product_service.domain.model import InboxRecord, Sku
from product_service.infrastructure.db.outbox_store import Backlog
from product_service.interfaces.operator_access import OperatorAccess

T = TypeVar("T")
EntityId = Annotated[int, Path(ge=1, le=2**63 - 1)]


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


class OutboxView(BaseModel):
    backlog: int
    oldest_age_seconds: float | None


def create_http_app(
    inventory: InventoryService,
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


def _answer(query: Callable[[], T]) -> T:
    try:
        return query()
    except (UnknownSku, OrderNotFound) as exc:
        raise HTTPException(404, f"{exc.code}: {exc}") from None
    except DomainError as exc:
        raise HTTPException(400, f"{exc.code}: {exc}") from None
    except TransientError as exc:
        raise HTTPException(503, f"database unavailable: {exc}") from None
