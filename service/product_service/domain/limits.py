"""The sizes the service is built to, each defined once: validation, settings and tables use
these names. Migrations keep literal values (a migration records the schema as it was then)."""

from __future__ import annotations

from decimal import Decimal

# Ids of products, SKUs and orders: BIGINT columns, int64 in the contract.
MAX_ID = 2**63 - 1
# Units of stock, of an order line or of a stock change: the ledger's delta is a signed 32-bit
# INT, the contract's quantities int32 and its stock levels uint32.
MAX_UNITS = 2**31 - 1
SKU_CODE_LENGTH = 64
# Prices: NUMERIC(PRICE_DIGITS, PRICE_DECIMALS).
PRICE_DIGITS, PRICE_DECIMALS = 12, 2
MAX_PRICE = Decimal(10) ** (PRICE_DIGITS - PRICE_DECIMALS) - Decimal(1).scaleb(-PRICE_DECIMALS)
