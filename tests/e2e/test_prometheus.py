"""The dashboard and the alerts against a real Prometheus (issue 17): it scrapes the product
service's /metrics and its daprd's metrics port every second, under the job names the rules
expect, with the rules file loaded. After paid orders (some deducted, some short of stock) and
a ProductService call, every Grafana panel query (variables filled in, tests/monitoring.py) and
every alert expression is evaluated through the HTTP API: none may fail; every series they read
must exist unless MAY_BE_EMPTY says why this traffic does not make it; a dashboard query whose
series all exist must return something; and Prometheus evaluates every rule without error.

prometheus comes from `scripts/infra up prometheus` (skipped without it, failed under CI).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Running
from tests.e2e.prometheus_server import PrometheusServer, Target
from tests.e2e.world import World
from tests.eventually import eventually
from tests.monitoring import (
    APP_JOB,
    RULES_FILE,
    SIDECAR_JOB,
    alert_rules,
    dashboard_queries,
    infra_tool,
)

pytestmark = pytest.mark.e2e

# Series that the dashboard or the alerts read but that this traffic, on a healthy stack, does
# not make (other tests of the session may make them: then they are checked like the rest).
MAY_BE_EMPTY = {
    "product_duplicates_total": "no delivery is repeated in this traffic",
    'product_messages_total{answer="drop"}': "no malformed payload, nothing answered DROP",
    'product_messages_total{answer="retry"}': "the database and the locks answer: no RETRY",
    "product_outbox_publish_failures_total": "the sidecar accepts every publish",
    "product_database_errors_total": "the database answers every statement",
    'product_lock_acquisitions_total{result="store_unavailable"}': "Redis answers",
    "product_dead_letters_total": "no dead letter in this traffic",
    "product_dead_letter_replays_total": "nothing is replayed",
    # Retention: a first pass may not have completed, nor deleted anything, in a stack minutes
    # old.
    "product_retention_deleted_total": "a stack minutes old has no rows old enough to delete",
    "product_retention_oldest_kept_seconds": "no retention pass may have completed yet",
    "product_retention_last_run_timestamp_seconds": "no retention pass may have completed yet",
}
SCRAPED_WITHIN = 60  # seconds for the traffic to show in Prometheus (scrapes every second)


@pytest.fixture(scope="module")
def prometheus(stack: Running) -> Iterator[PrometheusServer]:
    product = stack.product
    server = PrometheusServer(
        infra_tool("prometheus"),
        stack.stack.run_dir / "prometheus",
        {
            APP_JOB: Target(f"127.0.0.1:{product.http_port}"),
            SIDECAR_JOB: Target(f"127.0.0.1:{product.sidecar.metrics_port}", metrics_path="/"),
        },
        rule_files=[RULES_FILE],
    )
    server.start()
    try:
        yield server
    finally:
        server.stop(timeout=20)


@pytest.fixture(scope="module")
def traffic(world: World, prometheus: PrometheusServer) -> None:
    """Five paid orders on a SKU of stock 3 (three deducted, two short), decided; the SKU's
    creation is a ProductService call through Dapr."""
    sku = world.new_sku(stock=3)
    orders = [world.new_order_id() for _ in range(5)]
    for order in orders:
        world.pay(order, [(sku, 1)])
    for order in orders:
        world.wait_outcome(order)


def test_prometheus_scrapes_the_service_and_its_sidecar(
    prometheus: PrometheusServer, traffic: None
) -> None:
    def both_up() -> None:
        up = {s["metric"]["job"]: s["value"][1] for s in prometheus.query("up").series}
        assert up == {APP_JOB: "1", SIDECAR_JOB: "1"}, f"up: {up}"
        # The sidecar's own dapr_* series (they appear once daprd has recorded something).
        own = prometheus.query(
            f'count by (__name__) ({{job="{SIDECAR_JOB}", __name__=~"dapr_.+",'
            ' app_id="product-service"})'
        )
        assert own.series, f"no dapr_ series of product-service's daprd: {own}"

    eventually(both_up, timeout=SCRAPED_WITHIN, interval=0.5)


def expressions() -> dict[str, str]:
    """Every query to evaluate, by a name for messages: dashboard targets and alerts."""
    named = {f"panel {q.name}": q.expr for q in dashboard_queries()}
    named.update({f"alert {rule['alert']}": str(rule["expr"]) for rule in alert_rules()})
    return named


def test_every_dashboard_query_and_alert_expression_evaluates_without_error(
    prometheus: PrometheusServer, traffic: None
) -> None:
    failed = {
        name: answer.error
        for name, expr in expressions().items()
        if (answer := prometheus.query(expr)).error is not None
    }
    assert failed == {}


def test_the_series_they_read_are_there_after_paid_orders(
    prometheus: PrometheusServer, traffic: None
) -> None:
    reads = {name: prometheus.selectors(expr) for name, expr in expressions().items()}
    every_selector = {s for selectors in reads.values() for s in selectors}
    assert set(MAY_BE_EMPTY) <= every_selector, "MAY_BE_EMPTY names series nothing reads"
    panels = {q.name: q.expr for q in dashboard_queries()}

    def scraped() -> None:
        found = {s: bool(prometheus.query(s).series) for s in every_selector}
        missing = sorted(s for s, has in found.items() if not has and s not in MAY_BE_EMPTY)
        readers = [name for name, selectors in reads.items() if set(selectors) & set(missing)]
        assert missing == [], f"no series for {missing}, read by {readers}"
        # A panel whose every series exists must draw something.
        blank = [
            name
            for name, expr in panels.items()
            if all(found[s] for s in reads[f"panel {name}"]) and not prometheus.query(expr).series
        ]
        assert blank == [], f"panels with data that draw nothing: {blank}"

    eventually(scraped, timeout=SCRAPED_WITHIN, interval=1)


def test_prometheus_loads_the_rules_and_evaluates_each_without_error(
    prometheus: PrometheusServer, traffic: None
) -> None:
    expected = sorted(rule["alert"] for rule in alert_rules())

    def evaluated() -> None:
        groups = prometheus.api("rules", type="alert")["groups"]
        rules = {r["name"]: r for group in groups for r in group["rules"]}
        assert sorted(rules) == expected
        unhealthy = {
            name: (r["health"], r.get("lastError"))
            for name, r in rules.items()
            if r["health"] != "ok"
        }
        assert unhealthy == {}, f"rules not (yet) evaluated cleanly: {unhealthy}"

    eventually(evaluated, timeout=SCRAPED_WITHIN, interval=1)
