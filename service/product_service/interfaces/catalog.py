"""The demo catalog that `product-service seed` loads: a few products with a handful of SKUs."""

from __future__ import annotations

from decimal import Decimal

from product_service.domain.commands import CreateProduct, NewSku

DEMO_CATALOG = (
    CreateProduct(
        "Trail running shoe",
        (
            NewSku("SHOE-TRAIL-42", Decimal("129.90"), stock=50, warn_threshold=10),
            NewSku("SHOE-TRAIL-43", Decimal("129.90"), stock=40, warn_threshold=10),
            NewSku("SHOE-TRAIL-44", Decimal("129.90"), stock=5, warn_threshold=10),
        ),
    ),
    CreateProduct(
        "Merino base layer",
        (
            NewSku("MERINO-M", Decimal("79.00"), stock=100, warn_threshold=20),
            NewSku("MERINO-L", Decimal("79.00"), stock=3, warn_threshold=5),
        ),
    ),
    CreateProduct(
        "Headlamp 400 lm",
        (NewSku("LAMP-400", Decimal("49.50"), stock=25, warn_threshold=5),),
    ),
)
