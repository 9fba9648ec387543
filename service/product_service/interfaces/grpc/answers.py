"""How errors reach callers: pub/sub answers and gRPC status codes, each decided here only."""

from __future__ import annotations

import logging

import grpc
from dapr.ext.grpc import TopicEventResponse

from product_service.application.errors import StoreRejected, TransientError
from product_service.domain.errors import (
    DomainError,
    DuplicateSkuCode,
    InsufficientStock,
    InvalidCommand,
    OrderNotFound,
    StockOutOfRange,
    UnknownProduct,
    UnknownSku,
)

log = logging.getLogger(__name__)

SUCCESS = TopicEventResponse("success")
RETRY = TopicEventResponse("retry")
DROP = TopicEventResponse("drop")


def message_answer(exc: Exception) -> TopicEventResponse:
    """DROP sends the message straight to the dead-letter topic; RETRY goes through the
    resiliency retries first. Only a message that can never succeed is dropped: bad input.
    A statement the database refused (read-only during a failover, disk full, a missing
    privilege, or a bug of ours) is retried: it may succeed later, and dropping it would lose
    the order; after the bounded retries it still ends in the dead-letter topic."""
    if isinstance(exc, DomainError):
        return DROP
    return RETRY


_STATUS_BY_ERROR: tuple[tuple[type[Exception], grpc.StatusCode], ...] = (
    (InvalidCommand, grpc.StatusCode.INVALID_ARGUMENT),
    (UnknownSku, grpc.StatusCode.NOT_FOUND),
    (UnknownProduct, grpc.StatusCode.NOT_FOUND),
    (OrderNotFound, grpc.StatusCode.NOT_FOUND),
    (DuplicateSkuCode, grpc.StatusCode.ALREADY_EXISTS),
    (StockOutOfRange, grpc.StatusCode.FAILED_PRECONDITION),
    (InsufficientStock, grpc.StatusCode.FAILED_PRECONDITION),
    (DomainError, grpc.StatusCode.FAILED_PRECONDITION),
    (TransientError, grpc.StatusCode.UNAVAILABLE),
    (StoreRejected, grpc.StatusCode.INTERNAL),
)


def grpc_status(exc: Exception) -> tuple[grpc.StatusCode, str]:
    """The status code and a message that starts with the error's stable code."""
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            code = getattr(exc, "code", type(exc).__name__)
            return status, f"{code}: {exc}"
    return grpc.StatusCode.INTERNAL, "INTERNAL: unexpected error, see the service log"
