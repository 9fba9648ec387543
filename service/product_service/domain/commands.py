"""Commands: what a caller asks the inventory to do, validated before anything is written."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal

from product_service.domain.errors import InvalidCommand
from product_service.domain.limits import MAX_ID, MAX_PRICE, PRICE_DECIMALS, SKU_CODE_LENGTH
from product_service.domain.model import Dialect, SkuStatus


@dataclass(frozen=True)
class OrderLimits:
    max_lines: int = 100
    max_quantity: int = 10_000


@dataclass(frozen=True)
class OrderLine:
    sku_id: int
    quantity: int
    product_id: int = 0  # 0: not given; else the line is refused unless the SKU is this product's


@dataclass(frozen=True)
class DeductInventory:
    order_id: int
    lines: tuple[OrderLine, ...]
    message_id: str = ""
    dialect: Dialect = Dialect.CONTRACT  # how the outcome is told

    def validated(self, limits: OrderLimits) -> DeductInventory:
        """This command with duplicate SKU lines merged, or InvalidCommand."""
        require_id(self.order_id, "order id")
        if not self.lines:
            raise InvalidCommand(f"order {self.order_id} has no lines", code="EMPTY_ORDER")
        if len(self.lines) > limits.max_lines:
            raise InvalidCommand(
                f"order {self.order_id} has {len(self.lines)} lines; at most "
                f"{limits.max_lines} are accepted",
                code="TOO_MANY_LINES",
            )
        for line in self.lines:
            require_id(line.sku_id, "SKU id")
            require_quantity(line.quantity, limits.max_quantity, f"SKU {line.sku_id}")
            if line.product_id != 0:
                require_id(line.product_id, f"SKU {line.sku_id}: product id")
        merged: Counter[int] = Counter()
        for line in self.lines:
            merged[line.sku_id] += line.quantity
        for sku_id, total in merged.items():
            require_quantity(total, limits.max_quantity, f"SKU {sku_id} (merged lines)")
        products = self._product_of_each_sku()
        lines = tuple(OrderLine(i, merged[i], products.get(i, 0)) for i in sorted(merged))
        return replace(self, lines=lines)

    def _product_of_each_sku(self) -> dict[int, int]:
        """The product each SKU is ordered under, where given; one SKU under two products is a
        contradiction no stock can resolve."""
        products: dict[int, int] = {}
        for line in self.lines:
            if line.product_id == 0:
                continue
            named = products.setdefault(line.sku_id, line.product_id)
            if named != line.product_id:
                raise InvalidCommand(
                    f"order {self.order_id} names SKU {line.sku_id} under products {named} "
                    f"and {line.product_id}",
                    code="CONFLICTING_PRODUCT",
                )
        return products


@dataclass(frozen=True)
class RevertInventory:
    order_id: int
    message_id: str = ""
    dialect: Dialect = Dialect.CONTRACT  # how the outcome is told

    def validated(self) -> RevertInventory:
        require_id(self.order_id, "order id")
        return self


@dataclass(frozen=True)
class AdjustStock:
    """A restock (positive delta) or a correction (either sign), always with a reason."""

    sku_id: int
    delta: int
    reason: str

    def validated(self, max_quantity: int) -> AdjustStock:
        require_id(self.sku_id, "SKU id")
        if type(self.delta) is not int or self.delta == 0:
            raise InvalidCommand(
                "stock adjustment must be a non-zero integer", code="INVALID_DELTA"
            )
        if abs(self.delta) > max_quantity:
            raise InvalidCommand(
                f"stock adjustment {self.delta} exceeds the maximum of {max_quantity}",
                code="QUANTITY_TOO_LARGE",
            )
        reason = self.reason.strip()
        if not reason or len(reason) > 255:
            raise InvalidCommand(
                "a stock adjustment needs a reason of 1 to 255 characters", code="MISSING_REASON"
            )
        return AdjustStock(self.sku_id, self.delta, reason)


@dataclass(frozen=True)
class NewSku:
    code: str
    price: Decimal
    stock: int
    warn_threshold: int = 0
    status: SkuStatus = SkuStatus.ON_SALE


@dataclass(frozen=True)
class CreateProduct:
    name: str
    skus: tuple[NewSku, ...]

    def validated(self, max_stock: int) -> CreateProduct:
        name = self.name.strip()
        if not name or len(name) > 255:
            raise InvalidCommand("product name must have 1 to 255 characters", code="INVALID_NAME")
        if not self.skus:
            raise InvalidCommand(f"product {name!r} has no SKUs", code="NO_SKUS")
        codes = [sku.code for sku in self.skus]
        if len(set(codes)) != len(codes):
            raise InvalidCommand(f"product {name!r} repeats a SKU code", code="DUPLICATE_SKU_CODE")
        for sku in self.skus:
            _validate_new_sku(sku, max_stock)
        return CreateProduct(name, self.skus)


def _validate_new_sku(sku: NewSku, max_stock: int) -> None:
    if not sku.code or len(sku.code) > SKU_CODE_LENGTH or sku.code != sku.code.strip():
        raise InvalidCommand(
            f"SKU code {sku.code!r} must have 1 to {SKU_CODE_LENGTH} characters",
            code="INVALID_SKU_CODE",
        )
    if not _is_price(sku.price):
        raise InvalidCommand(
            f"SKU {sku.code}: price {sku.price} must be 0..{MAX_PRICE} with at most "
            f"{PRICE_DECIMALS} decimals",
            code="INVALID_PRICE",
        )
    if type(sku.stock) is not int or not 0 <= sku.stock <= max_stock:
        raise InvalidCommand(f"SKU {sku.code}: stock must be 0..{max_stock}", code="INVALID_STOCK")
    if type(sku.warn_threshold) is not int or not 0 <= sku.warn_threshold <= max_stock:
        raise InvalidCommand(
            f"SKU {sku.code}: warn threshold must be 0..{max_stock}", code="INVALID_THRESHOLD"
        )


def _is_price(price: Decimal) -> bool:
    if not isinstance(price, Decimal) or not price.is_finite():
        return False
    exponent = price.as_tuple().exponent
    return 0 <= price <= MAX_PRICE and isinstance(exponent, int) and exponent >= -PRICE_DECIMALS


def require_id(value: int, what: str) -> None:
    if type(value) is not int or not 1 <= value <= MAX_ID:
        raise InvalidCommand(
            f"{what} {value!r} is not a positive 64-bit integer", code="INVALID_ID"
        )


def require_quantity(value: int, maximum: int, what: str) -> None:
    if type(value) is not int or value <= 0:
        raise InvalidCommand(
            f"{what}: quantity {value!r} is not a positive integer", code="INVALID_QUANTITY"
        )
    if value > maximum:
        raise InvalidCommand(
            f"{what}: quantity {value} exceeds the maximum of {maximum}", code="QUANTITY_TOO_LARGE"
        )
