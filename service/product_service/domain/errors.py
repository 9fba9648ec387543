"""Domain errors: each carries a stable machine-readable code that interfaces translate."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain or a use case raises on purpose."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidCommand(DomainError):
    """The request itself is malformed: it can never succeed, whatever the stock."""

    code = "INVALID_ARGUMENT"


class UnknownSku(DomainError):
    code = "UNKNOWN_SKU"


class UnknownProduct(DomainError):
    code = "UNKNOWN_PRODUCT"


class StockOutOfRange(DomainError):
    code = "STOCK_OUT_OF_RANGE"


class InsufficientStock(DomainError):
    code = "INSUFFICIENT_STOCK"


class DuplicateSkuCode(DomainError):
    code = "DUPLICATE_SKU_CODE"


class OrderNotFound(DomainError):
    code = "ORDER_NOT_FOUND"


class UnknownDeadLetter(DomainError):
    code = "UNKNOWN_DEAD_LETTER"
