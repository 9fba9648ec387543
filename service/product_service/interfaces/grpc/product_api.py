"""The native ProductService (proto/product/v1/product_service.proto) over the app channel."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import grpc
from opentelemetry.trace import SpanKind

from product_service.application.results import OperationResult
from product_service.application.service import InventoryService
from product_service.contract.product.v1 import product_service_pb2 as pb
from product_service.contract.product.v1 import product_service_pb2_grpc as pb_grpc
from product_service.domain.commands import (
    AdjustStock,
    CreateProduct,
    DeductInventory,
    NewSku,
    OrderLine,
    RevertInventory,
)
from product_service.domain.errors import InvalidCommand
from product_service.domain.model import InboxRecord, Product, Sku, SkuStatus
from product_service.infrastructure.metrics import API_REQUESTS
from product_service.infrastructure.telemetry import context_from_metadata
from product_service.interfaces.grpc.answers import grpc_status
from product_service.interfaces.grpc.intake import Intake
from product_service.interfaces.grpc.observed import Arrival, Work, observed, run_operation
from product_service.interfaces.messages import require_size

log = logging.getLogger(__name__)

Request = TypeVar("Request")
Reply = TypeVar("Reply")
Handler = Callable[[Any, Request], Reply]

# Calls made through the API are recorded with this message id in the order's inbox record.
GRPC_MESSAGE_ID = "grpc"


@dataclass(frozen=True)
class Refusal:
    """A call answered with an error status instead of a reply."""

    code: grpc.StatusCode
    message: str


SHUTTING_DOWN = Refusal(grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE: shutting down; retry")


def _translated(method: Handler[Request, Reply]) -> Callable[[Any, Request, Any], Reply]:
    """Every call observed (span, count by status code, the order in the log context) and
    every error leaving as a gRPC status; unexpected ones are logged with their traceback."""

    name = method.__name__

    @functools.wraps(method)
    def call(self: Any, request: Request, context: grpc.ServicerContext) -> Reply:
        arrival = Arrival(
            f"ProductService/{name}",
            SpanKind.SERVER,
            context_from_metadata(context.invocation_metadata()),
        )
        answer: Reply | Refusal = observed(
            self._intake,
            arrival,
            lambda work: _reply_or_refusal(
                work, name, lambda: _call(self, method, request), request
            ),
            lambda: SHUTTING_DOWN,  # nothing started: safe to call again elsewhere
            lambda answer, _seconds: API_REQUESTS.labels(name, _code(answer).name).inc(),
        )
        if isinstance(answer, Refusal):
            context.abort(answer.code, answer.message)  # raises
        return answer  # type: ignore[return-value]

    return call


def _reply_or_refusal(
    work: Work, name: str, reply: Callable[[], Reply], request: Any
) -> Reply | Refusal:
    order_id = getattr(request, "order_id", 0)
    with work.about_order(order_id) if order_id else nullcontext():
        try:
            return reply()
        except Exception as exc:
            code, message = grpc_status(exc)
            if code is grpc.StatusCode.INTERNAL:
                log.exception("%s failed", name)
            work.annotate("rpc.grpc.status_code", code.value[0])
            return Refusal(code, message)


def _call(api: ProductApi, method: Handler[Request, Reply], request: Any) -> Reply:
    """The method, for a request within the size limit messages have too."""
    require_size(request.ByteSize(), api.max_request_bytes)
    return method(api, request)


def _code(answer: object) -> grpc.StatusCode:
    return answer.code if isinstance(answer, Refusal) else grpc.StatusCode.OK


class ProductApi(pb_grpc.ProductServiceServicer):
    def __init__(
        self,
        inventory: InventoryService,
        intake: Intake | None = None,
        max_request_bytes: int = 64 * 1024,
    ) -> None:
        self._inventory = inventory
        self._intake = intake or Intake()  # shared with the subscriptions: one drain on stop
        self.max_request_bytes = max_request_bytes

    @_translated
    def CreateProduct(self, request: pb.CreateProductRequest) -> pb.Product:
        skus = tuple(_new_sku(s) for s in request.skus)
        return _product(self._inventory.create_product(CreateProduct(request.name, skus)))

    @_translated
    def GetProduct(self, request: pb.GetProductRequest) -> pb.Product:
        return _product(self._inventory.product(request.product_id))

    @_translated
    def GetSku(self, request: pb.GetSkuRequest) -> pb.Sku:
        return _sku(self._inventory.sku(request.sku_id))

    @_translated
    def GetStockByCode(self, request: pb.GetStockByCodeRequest) -> pb.Sku:
        return _sku(self._inventory.stock_by_code(request.code))

    @_translated
    def CheckThresholds(self, request: pb.CheckThresholdsRequest) -> pb.CheckThresholdsResponse:
        statuses = self._inventory.check_thresholds(list(request.sku_ids))
        return pb.CheckThresholdsResponse(
            statuses=[
                pb.ThresholdStatus(
                    sku_id=s.sku_id,
                    known=s.known,
                    stock=s.stock,
                    warn_threshold=s.threshold,
                    below_threshold=s.below_threshold,
                )
                for s in statuses
            ]
        )

    @_translated
    def DeductInventory(self, request: pb.DeductInventoryRequest) -> pb.OperationReply:
        lines = tuple(OrderLine(d.sku_id, d.quantity, d.product_id) for d in request.lines)
        command = DeductInventory(request.order_id, lines, GRPC_MESSAGE_ID)
        return _reply(run_operation("deduct", command, self._inventory.deduct))

    @_translated
    def RevertInventory(self, request: pb.RevertInventoryRequest) -> pb.OperationReply:
        command = RevertInventory(request.order_id, GRPC_MESSAGE_ID)
        return _reply(run_operation("revert", command, self._inventory.revert))

    @_translated
    def AdjustStock(self, request: pb.AdjustStockRequest) -> pb.Sku:
        command = AdjustStock(request.sku_id, request.delta, request.reason)
        return _sku(self._inventory.adjust(command))

    @_translated
    def GetOrder(self, request: pb.GetOrderRequest) -> pb.OrderRecord:
        records = self._inventory.order_record(request.order_id)
        return pb.OrderRecord(
            order_id=request.order_id, operations=[_operation(r) for r in records]
        )


def _new_sku(sku: pb.NewSku) -> NewSku:
    try:
        price = Decimal(sku.price)
    except InvalidOperation:
        raise InvalidCommand(
            f"SKU {sku.code}: price {sku.price!r} is not a decimal number", code="INVALID_PRICE"
        ) from None
    status = SkuStatus.OFF_SALE if sku.status == pb.OFF_SALE else SkuStatus.ON_SALE
    return NewSku(sku.code, price, sku.stock, sku.warn_threshold, status)


def _sku(sku: Sku) -> pb.Sku:
    return pb.Sku(
        id=sku.id,
        product_id=sku.product_id,
        code=sku.code,
        price=str(sku.price),
        stock=sku.stock,
        warn_threshold=sku.warn_threshold,
        sales=sku.sales,
        status=sku.status.value,
    )


def _product(product: Product) -> pb.Product:
    return pb.Product(id=product.id, name=product.name, skus=[_sku(s) for s in product.skus])


def _reply(result: OperationResult) -> pb.OperationReply:
    return pb.OperationReply(
        order_id=result.order_id,
        outcome=result.outcome.value,
        reason=result.reason.value,
        duplicate=result.duplicate,
    )


def _operation(record: InboxRecord) -> pb.OrderOperation:
    return pb.OrderOperation(
        operation=record.operation.value,
        outcome=record.outcome.value,
        reason=record.reason.value,
        message_id=record.message_id,
        recorded_at=record.created_at.isoformat(),
    )
