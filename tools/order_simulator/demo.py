"""`make demo`: the embedded profile end to end, through Dapr, with nothing else installed.

Starts the product service beside its daprd (SQLite, in-memory pub/sub), seeds the catalog
through ProductService, publishes paid orders through the sidecar's publish API, prints each
outcome and the final stock, then stops everything.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import grpc
import httpx

from devstack import DevstackError, Stack
from order_simulator.client import OrderSimulator
from order_simulator.demo_data import CATALOG, FIRST_ORDER_ID, ORDERS, Order
from product_service.contract.product.v1 import events_pb2
from product_service.contract.product.v1 import product_service_pb2 as pb

OUTCOME_TIMEOUT = 15.0


def run_demo(run_dir: str, orders: int) -> int:
    started = time.monotonic()
    path = Path(run_dir)
    shutil.rmtree(path, ignore_errors=True)  # a fresh database every time
    try:
        with Stack(profile="embedded", run_dir=path) as stack:
            product = stack.start_product()
            side = product.sidecar
            print(
                f"product-service up in {time.monotonic() - started:.1f}s: app channel "
                f"127.0.0.1:{product.app_port}, HTTP http://127.0.0.1:{product.http_port}, "
                f"sidecar gRPC {side.grpc_port} / HTTP {side.http_port}"
            )
            print(f"logs: {product.log_path}  {side.log_path}\n")
            with stack.client() as client:
                skus = seed(client)
                failed = push_orders(client, skus, ORDERS[:orders])
                print_stock(client, skus)
            backlog = httpx.get(
                f"http://127.0.0.1:{product.http_port}/outbox",
                headers=product.operator_headers(),
                timeout=5,
            ).json()
            published = "every outcome event published" if backlog["backlog"] == 0 else "publishing"
            print(f"\noutbox backlog: {backlog['backlog']} ({published})")
            codes = stack.close()
    except DevstackError as exc:
        print(f"demo failed to start:\n{exc}", file=sys.stderr)
        return 1
    print(f"stopped: {', '.join(f'{name} exit {code}' for name, code in codes.items())}")
    print(f"demo finished in {time.monotonic() - started:.1f}s")
    return 1 if failed else 0


def seed(client: OrderSimulator) -> dict[str, pb.Sku]:
    print("== seed the catalog (ProductService.CreateProduct through the sidecar)")
    skus: dict[str, pb.Sku] = {}
    for name, new_skus in CATALOG:
        request = pb.CreateProductRequest(
            name=name,
            skus=[pb.NewSku(code=c, price=p, stock=s, warn_threshold=t) for c, p, s, t in new_skus],
        )
        created = client.product.CreateProduct(request, timeout=10)
        for sku in created.skus:
            skus[sku.code] = sku
        print(
            f"  product {created.id} {name}: "
            + ", ".join(f"{s.code} (sku {s.id}, stock {s.stock})" for s in created.skus)
        )
    return skus


def push_orders(client: OrderSimulator, skus: dict[str, pb.Sku], orders: Sequence[Order]) -> int:
    """Publish each order as OnPaymentSuccess and wait for its outcome; the number timed out."""
    print("\n== paid orders (OnPaymentSuccess through the sidecar's publish API)")
    missing = 0
    for n, lines in enumerate(orders):
        order_id = FIRST_ORDER_ID + n
        t0 = time.monotonic()
        client.pay(order_id, [(skus[c].product_id, skus[c].id, q) for c, q in lines])
        outcome = wait_outcome(client, order_id)
        ms = (time.monotonic() - t0) * 1000
        what = " + ".join(f"{c} x{q}" for c, q in lines)
        if outcome is None:
            missing += 1
            print(f"  order {order_id}: {what:40} NO OUTCOME within {OUTCOME_TIMEOUT:.0f}s")
        else:
            print(f"  order {order_id}: {what:40} {outcome:28} {ms:6.1f} ms")
    return missing


def wait_outcome(client: OrderSimulator, order_id: int) -> str | None:
    deadline = time.monotonic() + OUTCOME_TIMEOUT
    while time.monotonic() < deadline:
        try:
            record = client.product.GetOrder(pb.GetOrderRequest(order_id=order_id), timeout=5)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
        else:
            for op in record.operations:
                if op.operation == "DEDUCT" and op.outcome not in (
                    pb.OUTCOME_UNSPECIFIED,
                    pb.PENDING,
                ):
                    reason = events_pb2.FailureReason.Name(op.reason)
                    name = pb.Outcome.Name(op.outcome)
                    return name if op.reason == events_pb2.NONE else f"{name} {reason}"
        time.sleep(0.01)
    return None


def print_stock(client: OrderSimulator, skus: dict[str, pb.Sku]) -> None:
    print("\n== stock (ProductService.GetStockByCode)")
    print(f"  {'sku':14} {'initial':>7} {'stock':>6} {'sold':>5} {'warn at':>7}")
    for code, initial in skus.items():
        now = client.product.GetStockByCode(pb.GetStockByCodeRequest(code=code), timeout=5)
        flag = "  <- reorder" if now.stock <= now.warn_threshold else ""
        numbers = f"{initial.stock:7} {now.stock:6} {now.sales:5} {now.warn_threshold:7}"
        print(f"  {code:14} {numbers}{flag}")
