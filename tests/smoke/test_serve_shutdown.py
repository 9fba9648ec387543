"""`product-service serve` under SIGTERM: what was committed is published before it exits 0."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from devstack import Stack
from devstack.process import App
from product_service.contract.product.v1 import events_pb2 as events
from product_service.contract.product.v1 import product_service_pb2 as pb
from product_service.infrastructure.db.tables import outbox
from tests.smoke.test_components_and_devstack import create_sku

pytestmark = pytest.mark.infra


def outbox_backlog(product: App) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{product.http_port}/outbox", headers=product.operator_headers()
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(json.load(response)["backlog"])


def test_sigterm_publishes_the_held_back_outbox_and_exits_zero(tmp_path: Path) -> None:
    database = tmp_path / "product.db"
    with Stack(profile="embedded", run_dir=tmp_path, database_url=f"sqlite:///{database}") as stack:
        # The test hook holds each publish back for 8 s: SIGTERM lands while it waits, and the
        # flush outlasts the HTTP listener's 5 s stop (the runtime must not close under it).
        product = stack.start_product(env={"PRODUCT_RELAY_PUBLISH_DELAY_MS": "8000"})
        with stack.client() as client:
            sku = create_sku(client.product, stock=5)
            line = events.OrderDetail(product_id=sku.product_id, sku_id=sku.id, quantity=2)
            reply = client.product.DeductInventory(
                pb.DeductInventoryRequest(order_id=int(time.time()), lines=[line]), timeout=10
            )
        assert reply.outcome == pb.SUCCEEDED
        assert outbox_backlog(product) == 1

        assert product.stop() == 0

    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        unpublished = connection.execute(
            select(func.count()).where(outbox.c.published_at.is_(None))
        ).scalar_one()
    engine.dispose()
    assert unpublished == 0
