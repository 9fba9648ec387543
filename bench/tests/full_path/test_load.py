"""bench/full_path/load.py: pacing, orders, and records on the wire."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime

import pytest

from bench.full_path.load import Order, cloud_event, make_orders, outcome_of, scheduled_count

# -- pacing --------------------------------------------------------------------------------


def test_scheduled_count_paces_without_drift() -> None:
    assert scheduled_count(-0.1, 100) == 0
    assert scheduled_count(0, 100) == 1
    assert scheduled_count(0.0099, 100) == 1
    assert scheduled_count(0.01, 100) == 2
    assert scheduled_count(1.0, 500) == 501
    # After 60 s at 500/s, exactly 30,000 orders are due (the last one at 59.998 s).
    assert scheduled_count(59.998, 500) == 30_000


# -- orders and records --------------------------------------------------------------------

CATALOG = [(1 + i // 100, 1000 + i) for i in range(1000)]


def test_orders_have_three_distinct_skus_and_quantities_one_to_three() -> None:
    orders = make_orders(random.Random(1), CATALOG, first_id=500, count=2000)
    assert [o.order_id for o in orders] == list(range(500, 2500))
    known = set(CATALOG)
    for order in orders:
        assert len(order.lines) == 3
        assert len({s for _, s, _ in order.lines}) == 3
        assert all((p, s) in known and 1 <= q <= 3 for p, s, q in order.lines)
    quantities = {q for o in orders for _, _, q in o.lines}
    assert quantities == {1, 2, 3}


def test_hot_orders_half_include_the_hot_sku() -> None:
    hot = CATALOG[0]
    orders = make_orders(random.Random(2), CATALOG, first_id=1, count=1001, hot=hot)
    with_hot = [o for o in orders if any((p, s) == hot for p, s, _ in o.lines)]
    assert len(with_hot) == 501
    assert all(len({s for _, s, _ in o.lines}) == 3 for o in orders)
    # The hot line is not always the first one.
    assert {[(p, s) for p, s, _ in o.lines].index(hot) for o in with_hot} == {0, 1, 2}


def test_orders_need_a_big_enough_catalog() -> None:
    with pytest.raises(ValueError):
        make_orders(random.Random(3), CATALOG[:3], 1, 1, hot=CATALOG[0])


def test_payment_envelope_is_what_a_dapr_publisher_writes() -> None:
    order = Order(12345678901, ((7, 70, 2), (8, 80, 1), (9, 90, 3)))
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    envelope = json.loads(cloud_event("OnPaymentSuccess.x", order.data(), "id-1", at))
    assert envelope["specversion"] == "1.0" and envelope["id"] == "id-1"
    assert envelope["type"] == "com.dapr.event.sent"
    assert envelope["datacontenttype"] == "application/json"
    assert envelope["topic"] == "OnPaymentSuccess.x" and envelope["pubsubname"] == "pubsub"
    assert envelope["data"] == {
        "OrderId": "12345678901",
        "OrderDetails": [
            {"product_id": 7, "sku_id": 70, "quantity": 2},
            {"product_id": 8, "sku_id": 80, "quantity": 1},
            {"product_id": 9, "sku_id": 90, "quantity": 3},
        ],
    }


def test_outcome_of_reads_order_and_event_id() -> None:
    data = {"OrderId": "77", "Sku": []}
    plain = json.dumps({"id": "ev-1", "data": data}).encode()
    as_text = json.dumps({"id": "ev-2", "data": json.dumps(data)}).encode()
    b64 = json.dumps(
        {"id": "ev-3", "data_base64": base64.b64encode(json.dumps(data).encode()).decode()}
    ).encode()
    assert outcome_of(plain) == (77, "ev-1")
    assert outcome_of(as_text) == (77, "ev-2")
    assert outcome_of(b64) == (77, "ev-3")
    for bad in (b"", b"not json", b"[]", json.dumps({"data": data}).encode(), None):
        assert outcome_of(bad) is None
    assert outcome_of(json.dumps({"id": "x", "data": {"OrderId": "abc"}}).encode()) is None
