"""Issue 16's targets, each judged from the runs and measurements of one `make bench`: met,
missed, or not measured (the scenario did not run what it needs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.full_path.metrics import RunResult
from bench.full_path.report import cell
from bench.full_path.scenarios import total_cpu


@dataclass(frozen=True)
class Target:
    name: str
    limit: float
    unit: str
    at_most: bool  # the measured value must be <= limit (else >=)
    measured: float | None
    source: str  # the run or measurement it was taken from

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured <= self.limit if self.at_most else self.measured >= self.limit

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def judge_targets(
    report: Mapping[str, Any],
    runs: Sequence[RunResult],
    throughput_rate: float,
    baseline_rate: float,
    low_rates: Sequence[float],
    duration: float,
) -> list[Target]:
    """From the runs at those rates (the last correct run of `duration` at each, whatever its
    scenario), the steady search's best rate and ratio, and the idle measurement."""

    def last_run(rate: float) -> RunResult | None:
        found = [
            r
            for r in runs
            if r.target_rate == rate and r.seconds == duration and r.correct and not r.hot_sku
        ]
        return found[-1] if found else None

    steady = report.get("steady") or {}
    idle = report.get("idle") or {}
    at_rate = last_run(throughput_rate)
    cpu = at_rate.cpu_s_per_1000 if at_rate else {}
    total = total_cpu(at_rate) if at_rate else None
    baseline = last_run(baseline_rate)
    low = [run for rate in low_rates if (run := last_run(rate)) is not None]
    targets = [
        Target(
            f"CPU s per 1,000 orders at {throughput_rate:g}/s (app+daprd+kafka+mariadb)",
            0.6,
            "s",
            True,
            total,
            at_rate.name if at_rate else "-",
        ),
        Target(
            f"the app's CPU s per 1,000 orders at {throughput_rate:g}/s",
            0.25,
            "s",
            True,
            cpu.get("app"),
            at_rate.name if at_rate else "-",
        ),
        Target(
            "best sustained rate (p99 <= 250 ms)",
            2000,
            "orders/s",
            False,
            steady.get("best_rate"),
            "steady search",
        ),
        Target(
            f"p99 at {baseline_rate:g}/s",
            100,
            "ms",
            True,
            baseline.latency_ms.get("p99") if baseline else None,
            baseline.name if baseline else "-",
        ),
        Target(
            "full path / db-only ceiling",
            0.6,
            "",
            False,
            report.get("ratio_full_path_to_db"),
            "steady search, db_deduct",
        ),
        Target(
            "idle stack, % of one core (app+daprd+kafka+mariadb+redis)",
            5,
            "%",
            True,
            idle.get("total_pct"),
            f"idle {idle.get('seconds', '-')} s",
        ),
        Target(
            "idle app, % of one core",
            1,
            "%",
            True,
            (idle.get("pct") or {}).get("app"),
            f"idle {idle.get('seconds', '-')} s",
        ),
    ]
    targets += [
        Target(f"p50 at {run.target_rate:g}/s", 25, "ms", True, run.latency_ms.get("p50"), run.name)
        for run in low
    ]
    return targets


def format_targets(targets: Sequence[Target]) -> str:
    header = "| target | limit | measured | met | from |"
    lines = [header, "|---|---|---|---|---|"]
    for t in targets:
        limit = f"{'<=' if t.at_most else '>='} {t.limit:g} {t.unit}".rstrip()
        verdict = {True: "yes", False: "NO", None: "not measured"}[t.met]
        lines.append(f"| {t.name} | {limit} | {cell(t.measured, 3)} | {verdict} | {t.source} |")
    return "\n".join(lines)
