"""A real Prometheus for the end-to-end tests: started on a free loopback port with a generated
config (1 s scrapes of the given jobs, the alert rules loaded), its TSDB and log in the run's
folder; queried through its HTTP API."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from devstack.errors import with_logs
from devstack.net import HOST, free_port, http_status, wait_until
from devstack.process import Process

SCRAPE_INTERVAL = "1s"


@dataclass(frozen=True)
class Target:
    address: str  # host:port
    metrics_path: str = "/metrics"


@dataclass(frozen=True)
class Answer:
    """One instant query's answer: the series, or the error Prometheus gave."""

    query: str
    series: list[dict[str, Any]]
    error: str | None


class PrometheusServer(Process):
    def __init__(
        self, binary: str, run_dir: Path, jobs: Mapping[str, Target], rule_files: list[Path]
    ) -> None:
        super().__init__("prometheus", run_dir / "prometheus.log", run_dir)
        self.binary = binary
        self.run_dir = run_dir
        self.port = free_port()
        self.jobs = dict(jobs)
        self.rule_files = rule_files

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def config(self) -> dict[str, Any]:
        return {
            "global": {
                "scrape_interval": SCRAPE_INTERVAL,
                "scrape_timeout": SCRAPE_INTERVAL,
                "evaluation_interval": SCRAPE_INTERVAL,
            },
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [
                {
                    "job_name": job,
                    "metrics_path": target.metrics_path,
                    "static_configs": [{"targets": [target.address]}],
                }
                for job, target in self.jobs.items()
            ],
        }

    def start(self, timeout: float = 60) -> None:
        """Writes the config, starts prometheus, waits until /-/ready answers 200."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        config = self.run_dir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        self._spawn(
            [
                self.binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.run_dir / 'data'}",
                "--storage.tsdb.retention.time=2h",
                f"--web.listen-address={HOST}:{self.port}",
                "--log.level=warn",
            ],
            os.environ,
        )
        t0 = time.monotonic()
        reason = wait_until(self._ready, timeout, alive=self.exit_reason)
        if reason is not None:
            raise with_logs(
                f"prometheus not ready after {time.monotonic() - t0:.1f}s: {reason}", self.log_path
            )

    def _ready(self) -> str | None:
        status = http_status(f"{self.url}/-/ready")
        return None if status == 200 else f"/-/ready answered {status}"

    def api(self, path: str, **params: str) -> Any:
        """The `data` of a successful API answer; an AssertionError with Prometheus's error."""
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = response.json()
        assert body.get("status") == "success", f"{path} {params}: {body}"
        return body["data"]

    def query(self, expr: str) -> Answer:
        """An instant query now. A bad or failing query is an Answer with its error, not an
        exception, so that a test can report every query that fails at once."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            return Answer(expr, [], f"{body.get('errorType')}: {body.get('error')}")
        data = body["data"]
        series = data["result"] if data["resultType"] in ("vector", "matrix") else [data]
        return Answer(expr, series, None)

    def selectors(self, expr: str) -> list[str]:
        """The series selectors an expression reads, as queries of their own (ranges and
        offsets dropped), from Prometheus's own parse of it."""
        return sorted(set(_selectors(self.api("parse_query", query=expr))))


def _selectors(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _selectors(item)
    elif isinstance(node, dict):
        if node.get("type") in ("vectorSelector", "matrixSelector"):
            yield selector(node["matchers"])
        else:
            for value in node.values():
                yield from _selectors(value)


def selector(matchers: list[dict[str, str]]) -> str:
    """`name{label op "value", ...}`, labels sorted; a match-all `=~".*"` left out (what the
    dashboard's `$job` becomes at "All")."""
    name = next((m["value"] for m in matchers if m["name"] == "__name__"), "")
    labels = sorted(
        f"{m['name']}{m['type']}{json.dumps(m['value'])}"
        for m in matchers
        if m["name"] != "__name__" and not (m["type"] == "=~" and m["value"] == ".*")
    )
    return f"{name}{{{', '.join(labels)}}}" if labels else name
