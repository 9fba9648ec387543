"""Observability end to end: one trace across both sidecars in Jaeger, metrics, logs.

The full profile samples every trace in the sidecars and exports the app's spans to the same
Jaeger (devstack sets PRODUCT_OTEL_ENDPOINT), so a paid order must show up as one trace whose
spans are linked parent to child from the simulator's publish to the simulator's receipt.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from tests.e2e.conftest import E2E_DATABASE_URL, Running
from tests.e2e.world import DEDUCTED, World
from tests.eventually import eventually

pytestmark = pytest.mark.e2e

JAEGER = f"http://127.0.0.1:{os.environ.get('JAEGER_QUERY_PORT', '16686')}"
DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "product-service.json"


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


class Trace:
    """A Jaeger trace as spans with their process and CHILD_OF parent."""

    def __init__(self, raw: dict[str, Any]) -> None:
        services = {key: p["serviceName"] for key, p in raw["processes"].items()}
        self.spans = {s["spanID"]: s for s in raw["spans"]}
        self.service = {sid: services[s["processID"]] for sid, s in self.spans.items()}

    def parent(self, span_id: str) -> str | None:
        refs = self.spans[span_id]["references"]
        return next((r["spanID"] for r in refs if r["refType"] == "CHILD_OF"), None)

    def one(self, service: str, pattern: str, parent: str | None = None) -> str:
        """The single span of `service` whose operation matches, optionally under `parent`."""
        found = [
            sid
            for sid, span in self.spans.items()
            if self.service[sid] == service
            and re.fullmatch(pattern, span["operationName"])
            and (parent is None or self.parent(sid) == parent)
        ]
        names = sorted((self.service[s], self.spans[s]["operationName"]) for s in self.spans)
        assert len(found) == 1, f"{service} {pattern!r} under {parent}: {found}; trace has {names}"
        return found[0]

    def children(self, parent: str, pattern: str) -> list[str]:
        return [
            sid
            for sid, span in self.spans.items()
            if self.parent(sid) == parent and re.fullmatch(pattern, span["operationName"])
        ]


def read_trace(trace_id: str) -> Trace:
    """The trace as Jaeger holds it now (the app and both sidecars export in batches, each on
    its own schedule, so it may still be growing)."""
    try:
        data = _get_json(f"{JAEGER}/api/traces/{trace_id}")["data"]
    except OSError as error:
        raise AssertionError(f"Jaeger did not answer for trace {trace_id}: {error}") from error
    assert data, f"Jaeger has no trace {trace_id} yet"
    return Trace(data[0])


def paid_order_trace(world: World) -> tuple[int, str, str]:
    """Pays one order; returns the order id, its trace id and the simulator's receipt span id."""
    sku = world.new_sku(stock=10, threshold=2)
    order = world.new_order_id()
    world.pay(order, [(sku, 1)])
    world.wait_outcome(order, DEDUCTED)
    received = world.sim.received(order, DEDUCTED)[0]  # a re-sent copy carries the same trace
    _version, trace_id, receipt_span, _flags = received.traceparent.split("-")
    return order, trace_id, receipt_span


def test_one_trace_runs_from_the_simulators_publish_to_its_receipt(world: World) -> None:
    order, trace_id, receipt = paid_order_trace(world)
    payment, outcome = re.escape(world.wire("OnPaymentSuccess")), re.escape(world.wire(DEDUCTED))
    publish_api = r"/dapr\.proto\.runtime\.v1\.Dapr/PublishEvent"

    def linked_from_publish_to_receipt() -> None:
        trace = read_trace(trace_id)
        sim_publish = trace.one("order-simulator", publish_api)
        delivery = trace.one("product-service", r"pubsub/" + payment, parent=sim_publish)
        handler = trace.one("product-service", payment + r" process", parent=delivery)
        use_case = trace.one("product-service", r"inventory\.deduct(_batch)?", parent=handler)
        sql = trace.children(use_case, r"(SELECT|INSERT|UPDATE) .*")
        assert len(sql) >= 5, f"expected the deduct's SQL under {use_case}, found {sql}"
        our_publish = trace.one("product-service", r"publish " + outcome, parent=use_case)
        sidecar_publish = trace.one("product-service", publish_api, parent=our_publish)
        assert receipt in trace.spans, f"the simulator's receipt span {receipt} is not exported yet"
        assert trace.parent(receipt) == sidecar_publish
        assert trace.service[receipt] == "order-simulator"
        assert trace.spans[handler]["tags"]  # attributes travel: the message id is on the span
        assert str(order) in json.dumps(trace.spans[use_case]["tags"])

    eventually(linked_from_publish_to_receipt, timeout=60, interval=0.5)


def test_log_lines_about_an_order_carry_the_trace_id_jaeger_shows(
    world: World, stack: Running
) -> None:
    order, trace_id, _receipt = paid_order_trace(world)

    def lines_about_the_order() -> tuple[str, list[dict[str, Any]]]:
        text = Path(stack.product.log_path).read_text()
        complete = text[: text.rfind("\n") + 1]  # the app may be writing the last line now
        lines = [json.loads(line) for line in complete.splitlines() if line.startswith("{")]
        # A line of its own, or the line of the bulk delivery that decided it.
        about_order = [
            line
            for line in lines
            if line.get("order_id") == order or order in line.get("order_ids", [])
        ]
        assert about_order, f"no JSON log line names order {order}"
        return complete, about_order

    text, about_order = eventually(lines_about_the_order, timeout=30)

    assert {line["trace_id"] for line in about_order} == {trace_id}
    assert all(len(line["span_id"]) == 16 for line in about_order)
    # The database URL's credentials appear nowhere in the log (the URL is logged masked).
    credentials = make_url(E2E_DATABASE_URL)
    assert f"{credentials.username}:{credentials.password}@" not in text
    assert "***" in text


def metric_samples(stack: Running) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{stack.product.http_port}/metrics", timeout=10
    ) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def delta(
    before: dict[tuple[str, frozenset[tuple[str, str]]], float],
    after: dict[tuple[str, frozenset[tuple[str, str]]], float],
    name: str,
    **labels: str,
) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_metrics_count_exactly_the_traffic_sent(world: World, stack: Running) -> None:
    sku = world.new_sku(stock=3)
    orders = [world.new_order_id() for _ in range(5)]
    before = metric_samples(stack)

    for order in orders:
        world.pay(order, [(sku, 1)])  # three succeed, two find no stock left
    for order in orders:
        world.wait_outcome(order)
    topic = world.wire("OnPaymentSuccess")
    succeeded = {"operation": "deduct", "outcome": "SUCCEEDED", "reason": "NONE"}
    short = {"operation": "deduct", "outcome": "FAILED", "reason": "INSUFFICIENT_STOCK"}

    def counted_exactly() -> None:
        # An outcome reaches the simulator before its handler has counted its answer, and the
        # relay counts a publish after marking its row published: read until all settled.
        after = metric_samples(stack)
        assert delta(before, after, "product_messages_total", topic=topic, answer="success") == 5
        assert delta(before, after, "product_messages_total", topic=topic, answer="retry") == 0
        # Payments come in bulk deliveries: one handler call and one transaction per delivery.
        deliveries = delta(before, after, "product_bulk_delivery_entries_count", topic=topic)
        assert delta(before, after, "product_bulk_delivery_entries_sum", topic=topic) == 5
        assert 1 <= deliveries <= 5
        assert delta(before, after, "product_handler_seconds_count", topic=topic) == deliveries
        assert delta(before, after, "product_outcomes_total", **succeeded) == 3
        assert delta(before, after, "product_outcomes_total", **short) == 2
        transactions = delta(before, after, "product_transaction_seconds_count", operation="deduct")
        assert transactions == deliveries
        assert delta(before, after, "product_outbox_published_total", path="relay") == 5
        # Bulk deliveries take no order lock unless PRODUCT_BULK_ORDER_LOCKS is set.
        lock_calls = [
            delta(before, after, "product_lock_acquisitions_total", kind="order", result=result)
            for result in ("acquired", "refused", "store_unavailable")
        ]
        assert lock_calls == [0, 0, 0]
        assert after[("product_outbox_backlog", frozenset())] == 0
        assert after[("product_outbox_oldest_age_seconds", frozenset())] == 0

    eventually(counted_exactly, timeout=30)


def test_every_metric_the_dashboard_queries_is_exposed(stack: Running) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bproduct_[a-z_]+", target["expr"])
    }
    with urllib.request.urlopen(
        f"http://127.0.0.1:{stack.product.http_port}/metrics", timeout=10
    ) as response:
        exposed = {
            family.name for family in text_string_to_metric_families(response.read().decode())
        }
    # prometheus_client names counter families without their _total suffix.
    exposed |= {f"{name}_total" for name in exposed}

    assert len(queried) >= 10
    assert queried <= exposed, f"not exposed: {sorted(queried - exposed)}"
