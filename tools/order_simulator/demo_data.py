"""The demo's catalog (the same as `product-service seed`) and its stream of paid orders.

Orders name SKUs by code; quantities are chosen so that some SKUs run out part-way and the
later orders that need them are refused, all or nothing.
"""

from __future__ import annotations

# (product name, [(sku code, price, stock, warn threshold), ...])
CATALOG: tuple[tuple[str, tuple[tuple[str, str, int, int], ...]], ...] = (
    (
        "Trail running shoe",
        (
            ("SHOE-TRAIL-42", "129.90", 50, 10),
            ("SHOE-TRAIL-43", "129.90", 40, 10),
            ("SHOE-TRAIL-44", "129.90", 5, 10),
        ),
    ),
    ("Merino base layer", (("MERINO-M", "79.00", 100, 20), ("MERINO-L", "79.00", 3, 5))),
    ("Headlamp 400 lm", (("LAMP-400", "49.50", 25, 5),)),
)

FIRST_ORDER_ID = 1001

Order = tuple[tuple[str, int], ...]

# One paid order per entry: [(sku code, quantity), ...]
ORDERS: tuple[Order, ...] = (
    (("SHOE-TRAIL-42", 2), ("MERINO-M", 1)),
    (("SHOE-TRAIL-44", 2),),
    (("LAMP-400", 5), ("MERINO-L", 1)),
    (("SHOE-TRAIL-44", 2),),
    (("MERINO-L", 1), ("SHOE-TRAIL-43", 1)),
    (("SHOE-TRAIL-44", 2),),  # 1 left: refused
    (("LAMP-400", 10),),
    (("MERINO-L", 2),),  # 1 left: refused
    (("SHOE-TRAIL-42", 3), ("SHOE-TRAIL-43", 2)),
    (("LAMP-400", 8), ("MERINO-M", 4)),
    (("SHOE-TRAIL-44", 1),),  # the last one
    (("LAMP-400", 5),),  # 2 left: refused
    (("MERINO-M", 10), ("SHOE-TRAIL-42", 5)),
    (("SHOE-TRAIL-44", 1),),  # sold out: refused
    (("MERINO-L", 1),),  # the last one
    (("LAMP-400", 2),),  # the last two
    (("SHOE-TRAIL-43", 4), ("LAMP-400", 1)),  # lamp sold out: the shoes stay too
    (("MERINO-M", 3),),
    (("SHOE-TRAIL-42", 2), ("MERINO-L", 1)),  # merino L sold out: refused
    (("SHOE-TRAIL-43", 3),),
)
