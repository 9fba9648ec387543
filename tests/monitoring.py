"""What the alert and dashboard tests share: the rules file, the dashboard's queries with its
variables filled in, and the prometheus/promtool binaries that `scripts/infra up prometheus`
builds (missing: skipped locally, a failure under CI, as tests/ci.py has it)."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.ci import unavailable

REPO_ROOT = Path(__file__).resolve().parents[1]
INFRA = REPO_ROOT / "scripts" / "infra"
RULES_FILE = REPO_ROOT / "docs" / "prometheus" / "product-service-rules.yaml"
RULE_TESTS = REPO_ROOT / "docs" / "prometheus" / "tests"
DASHBOARD = REPO_ROOT / "docs" / "grafana" / "product-service.json"
OPERATIONS = REPO_ROOT / "docs" / "operations.md"

# The job names the rules expect (docs/prometheus/product-service-rules.yaml's header).
APP_JOB = "product-service"
SIDECAR_JOB = "product-service-daprd"

# Metrics that the dead-letter and retention work (issue 17) is adding while the rules and the
# dashboard already use them. Until the service declares one, the tests that want every queried
# metric to exist excuse it; once declared, it is checked like any other.
METRIC_NAME = re.compile(r"\bproduct_[a-z_]+")


def infra_tool(name: str) -> str:
    """The absolute path that `scripts/infra <name>-path` prints, or the test skipped (failed
    under CI) with the command that builds it."""
    done = subprocess.run(
        [str(INFRA), f"{name}-path"], capture_output=True, text=True, timeout=60, check=False
    )
    path = done.stdout.strip()
    if done.returncode != 0 or not path:
        unavailable("prometheus", f"no {name} binary (scripts/infra {name}-path printed none)")
    return path


def declared_metrics() -> set[str]:
    """The product_ metric names that the service's source declares (string literals)."""
    sources = (REPO_ROOT / "service" / "product_service").rglob("*.py")
    return {
        name
        for path in sources
        for name in re.findall(r"[\"'](product_[a-z_]+)[\"']", path.read_text())
    }


def queried_metrics(expr: str) -> set[str]:
    """product_ metric names in a query, histogram series (_bucket, _sum, _count) by family."""
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in METRIC_NAME.findall(expr)}


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of the rules file, in file order."""
    groups = yaml.safe_load(RULES_FILE.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@dataclass(frozen=True)
class PanelQuery:
    panel: str
    ref: str
    expr: str  # with the dashboard's variables filled in

    @property
    def name(self) -> str:
        return f"{self.panel} [{self.ref}]"


# Grafana's variables as a Prometheus query needs them: `$job` at its "All" value (the
# dashboard's allValue), the range variables at what Grafana would pick for a short range
# scraped every second.
GRAFANA_RANGES = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}


def dashboard_queries() -> list[PanelQuery]:
    """Every target of every panel, variables substituted."""
    dashboard = json.loads(DASHBOARD.read_text())
    values = dict(GRAFANA_RANGES)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            values[variable["name"]] = variable.get("allValue", ".*")
    return [
        PanelQuery(panel["title"], target["refId"], fill_variables(target["expr"], values))
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def fill_variables(expr: str, values: dict[str, str]) -> str:
    """`$name`, `${name}` and `[[name]]` replaced; an unknown variable is an error."""

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise KeyError(f"dashboard variable ${name} has no test value: {expr}")
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]", value, expr)
