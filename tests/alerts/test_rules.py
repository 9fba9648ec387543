"""The alert rules (docs/prometheus/product-service-rules.yaml): promtool accepts them and their
unit tests pass (docs/prometheus/tests/), every alert has a test that fires it and one that does
not, a severity, a summary and a runbook section in docs/operations.md; the rules and the
dashboard query only metrics the service declares; k8s/'s PrometheusRule is generated from them.

promtool is the one `scripts/infra up prometheus` builds (tests/monitoring.py): missing, these
tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.monitoring import (
    DASHBOARD,
    OPERATIONS,
    REPO_ROOT,
    RULE_TESTS,
    RULES_FILE,
    alert_rules,
    dashboard_queries,
    declared_metrics,
    infra_tool,
    queried_metrics,
)

TEST_FILES = sorted(RULE_TESTS.glob("*.yaml"))


def promtool(*args: str) -> None:
    """Runs promtool in the repository root; a non-zero exit fails with promtool's output."""
    command = [infra_tool("promtool"), *args]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        pytest.fail(
            f"`promtool {' '.join(args)}` exited {done.returncode}:\n{done.stdout}{done.stderr}",
            pytrace=False,
        )


@pytest.mark.infra
def test_promtool_accepts_the_rules_file() -> None:
    promtool("check", "rules", "--lint=all", "--lint-fatal", str(RULES_FILE.relative_to(REPO_ROOT)))


@pytest.mark.infra
@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda path: path.name)
def test_the_promtool_unit_tests_pass(test_file: Path) -> None:
    promtool("test", "rules", str(test_file.relative_to(REPO_ROOT)))


def test_the_unit_tests_are_about_the_rules_file() -> None:
    assert len(TEST_FILES) >= 5
    for path in TEST_FILES:
        rule_files = yaml.safe_load(path.read_text())["rule_files"]
        assert [(path.parent / f).resolve() for f in rule_files] == [RULES_FILE], path.name


def expectations() -> dict[str, list[bool]]:
    """Alert name -> for each promtool case about it, whether it expects the alert to fire."""
    cases: dict[str, list[bool]] = {}
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], []).append(bool(case.get("exp_alerts")))
    return cases


def test_every_alert_has_a_test_that_fires_it_and_one_where_it_does_not_fire() -> None:
    cases = expectations()
    alerts = [rule["alert"] for rule in alert_rules()]
    assert sorted(set(cases) - set(alerts)) == [], "tests of alerts the rules do not have"
    for alert in alerts:
        assert True in cases.get(alert, []), f"{alert}: no promtool test expects it to fire"
        assert False in cases.get(alert, []), f"{alert}: no promtool test expects it silent"


def runbook_sections() -> dict[str, str]:
    """docs/operations.md's sections by their anchor (GitHub's: lower case, punctuation gone,
    spaces as hyphens), each with its text up to the next heading of its level or above."""
    text = OPERATIONS.read_text()
    headings = list(re.finditer(r"^(#+)\s+(.+?)\s*$", text, re.MULTILINE))
    sections = {}
    for i, heading in enumerate(headings):
        level = len(heading.group(1))
        end = next((h.start() for h in headings[i + 1 :] if len(h.group(1)) <= level), len(text))
        anchor = re.sub(r"[^\w\- ]", "", heading.group(2).lower()).replace(" ", "-")
        sections[anchor] = text[heading.end() : end]
    return sections


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: str(rule["alert"]))
def test_every_alert_has_a_severity_a_summary_and_a_runbook_section(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in ("critical", "warning")
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
    assert path == str(OPERATIONS.relative_to(REPO_ROOT))
    assert anchor == rule["alert"].lower(), "the runbook section is named after the alert"
    section = runbook_sections().get(anchor)
    assert section is not None, f"docs/operations.md has no section #{anchor}"
    for part in ("What it means", "What to check", "What to do"):
        assert part in section, f"docs/operations.md#{anchor} does not say {part!r}"


def test_the_rules_and_the_dashboard_query_only_metrics_the_service_declares() -> None:
    known = declared_metrics()
    in_rules = {name for rule in alert_rules() for name in queried_metrics(str(rule["expr"]))}
    in_dashboard = {name for query in dashboard_queries() for name in queried_metrics(query.expr)}
    assert in_rules - known == set()
    assert in_dashboard - known == set()


def test_every_dashboard_query_has_its_variables_filled_in_for_the_end_to_end_test() -> None:
    queries = dashboard_queries()
    assert len(queries) >= 20
    assert [q.name for q in queries if "$" in q.expr or "[[" in q.expr] == []
    assert "$__rate_interval" in DASHBOARD.read_text()  # so the filling-in is exercised


def test_the_prometheusrule_in_k8s_is_generated_from_the_rules_file() -> None:
    done = subprocess.run(
        [str(REPO_ROOT / "scripts" / "prometheusrule"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
