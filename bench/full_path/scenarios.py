"""The scenarios: the steady search up a ladder of rates, the baseline and throughput runs, a
burst at twice the best rate, a hot SKU; or one run per rate (`--scenario rates`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from bench.full_path.config import MIN_ACHIEVED_FRACTION, P99_LIMIT_MS
from bench.full_path.metrics import RunResult, keeps_up
from bench.full_path.report import cell, say
from bench.full_path.runner import Bench


class RateSearch:
    """The steady search: probe up the ladder (short runs) until the first failure, then
    confirm the highest passing rate with a full-length run, stepping down while that fails.

    When even the first rung fails, probing continues below it at 3/4, 1/2, 1/4 and 1/8 of it. A
    confirmation that fails steps down one rung at a time (probed or not) until one passes or
    the rungs run out (no sustained rate: `best` stays None).
    """

    def __init__(self, ladder: Sequence[float]) -> None:
        rungs = sorted({float(r) for r in ladder if r > 0})
        if not rungs:
            raise ValueError("the rate ladder needs at least one positive rate")
        below = sorted({float(round(rungs[0] * f)) for f in (0.125, 0.25, 0.5, 0.75)} - {0.0})
        self.rungs = [r for r in below if r < rungs[0]] + rungs
        self.index = len(self.rungs) - len(rungs)
        self.phase = "probe"
        self.passed: list[float] = []
        self.failed: list[float] = []
        self.confirm_failed: list[float] = []
        self.best: float | None = None

    def next(self) -> tuple[str, float] | None:
        """("probe" | "confirm", rate) to run next, or None when the search is over."""
        if self.phase == "done":
            return None
        return self.phase, self.rungs[self.index]

    def record(self, passed: bool) -> None:
        """The verdict of the run that next() asked for."""
        step = self.next()
        if step is None:
            raise RuntimeError("the search is over")
        phase, rate = step
        if phase == "probe":
            self._probed(rate, passed)
        elif passed:
            self.best = rate
            self.phase = "done"
        else:
            self.confirm_failed.append(rate)
            self._step_down()

    def _probed(self, rate: float, passed: bool) -> None:
        if passed:
            self.passed.append(rate)
            up = self.index + 1
            if up >= len(self.rungs) or self.rungs[up] in self.failed:
                self.phase = "confirm"
            else:
                self.index = up
            return
        self.failed.append(rate)
        if self.passed:
            self.phase = "confirm"
            self.index = self.rungs.index(max(self.passed))
        else:
            self._step_down()

    def _step_down(self) -> None:
        if self.index == 0:
            self.phase = "done"
        else:
            self.index -= 1


def scenarios(args: argparse.Namespace, bench: Bench, report: dict[str, Any]) -> list[RunResult]:
    runs: list[RunResult] = []
    if args.scenario == "scale":
        label = f"{len(bench.replicas)}r/{bench.stack.partitions}p"
        bench.measure(runs, f"{label} steady {args.rate:g}", "scale", args.rate, args.duration)
        bench.measure(
            runs, f"{label} hot {args.rate:g}", "scale-hot", args.rate, args.duration, hot=True
        )
        return runs
    if args.scenario in ("rates", "all") and args.idle_seconds > 0:
        report["idle"] = bench.idle(args.idle_seconds)
    if args.scenario == "rates":
        for rate in args.ladder_rates:
            bench.measure(runs, f"rate {rate:g}", "rates", rate, args.duration)
        return runs
    wanted = {"steady", "burst", "hot"} if args.scenario == "all" else {args.scenario}
    best: float | None = None
    if args.scenario == "all":
        for rate in args.low_rate_list:  # a lone order's latency: the bulk await's share
            bench.measure(runs, f"low rate {rate:g}", "low-rate", rate, args.duration)
    if "steady" in wanted:
        search = RateSearch(args.ladder_rates)
        while (step := search.next()) is not None:
            phase, rate = step
            seconds = args.probe_seconds if phase == "probe" else args.duration
            run = bench.measure(runs, f"steady {phase} {rate:g}", "steady", rate, seconds)
            search.record(run.sustained)
        best = search.best
        say(f"steady: best sustained rate {best if best is not None else 'none'} orders/s")
        report["steady"] = {
            "best_rate": best,
            "probed_passed": search.passed,
            "probed_failed": search.failed,
            "confirm_failed": search.confirm_failed,
            "p99_limit_ms": P99_LIMIT_MS,
            "min_achieved_fraction": MIN_ACHIEVED_FRACTION,
        }
        if args.baseline_rate > 0:
            confirmed = [
                r
                for r in runs
                if r.target_rate == args.baseline_rate and r.seconds == args.duration
            ]
            baseline = confirmed[-1] if confirmed else None
            if baseline is None:
                baseline = bench.measure(
                    runs,
                    f"steady {args.baseline_rate:g}",
                    "steady",
                    args.baseline_rate,
                    args.duration,
                )
            report["steady"]["baseline"] = {
                "rate": args.baseline_rate,
                "run": baseline.name,
                "p99_ms": baseline.latency_ms.get("p99"),
                "sustained": baseline.sustained,
            }
        if args.throughput_rate > 0:
            run = bench.measure(
                runs,
                f"throughput {args.throughput_rate:g}",
                "throughput",
                args.throughput_rate,
                args.duration,
            )
            kept_up, reasons = keeps_up(run.target_rate, run.achieved_per_s, run.complete_in_drain)
            report["steady"]["throughput"] = {
                "rate": args.throughput_rate,
                "run": run.name,
                "achieved_per_s": run.achieved_per_s,
                "p99_ms": run.latency_ms.get("p99"),
                "kept_up": kept_up,
                "verdict": reasons,
            }
            say(
                f"throughput {args.throughput_rate:g}/s for {args.duration:g} s: "
                + ("kept up" if kept_up else "did not keep up: " + "; ".join(reasons))
            )
    base = args.rate if args.rate is not None else best
    if base is None and wanted - {"steady"}:
        say("no sustained steady rate and no --rate: burst and hot are skipped")
        report["skipped"] = sorted(wanted - {"steady"})
        return runs
    if "burst" in wanted:
        assert base is not None
        run = bench.measure(runs, f"burst {2 * base:g}", "burst", 2 * base, args.burst_seconds)
        say(f"burst: backlog drained {cell(run.drain_seconds)} s after the burst ended")
    if "hot" in wanted:
        assert base is not None
        bench.measure(runs, f"hot {base:g}", "hot", base, args.duration, hot=True)
    return runs


MEASURED = ("app", "daprd", "kafka", "mariadb")
COLLAPSE_LIMIT = 1.25  # N replicas may use at most this times one replica's CPU per order


def scale_summary(runs: Sequence[RunResult]) -> list[str]:
    """CPU per 1,000 orders of each run against one replica's at the same rate and scenario
    (the collapse check: at most COLLAPSE_LIMIT), when several replica counts ran. The
    baseline is the one replica on the same partitions; for P = N runs, one replica on one
    partition."""
    if len({r.replicas for r in runs}) < 2:
        return []
    lines = [
        "CPU s per 1,000 orders (app+daprd+kafka+mariadb) against 1 replica, "
        f"limit {COLLAPSE_LIMIT}x:"
    ]
    for run in runs:
        one = _one_replica_baseline(runs, run)
        mine, theirs = total_cpu(run), total_cpu(one) if one else None
        ratio = round(mine / theirs, 2) if mine and theirs else None
        verdict = "" if ratio is None else (" ok" if ratio <= COLLAPSE_LIMIT else " over")
        against = f" (against {one.name})" if one else ""
        lines.append(f"  {run.name}: {cell(mine, 3)} s, {cell(ratio, 2)}x{verdict}{against}")
    return lines


def _one_replica_baseline(runs: Sequence[RunResult], run: RunResult) -> RunResult | None:
    def alike(other: RunResult, partitions: int) -> bool:
        return (
            other.replicas == 1
            and other.partitions == partitions
            and other.scenario == run.scenario
            and other.target_rate == run.target_rate
        )

    wanted = [run.partitions] + ([1] if run.partitions == run.replicas else [])
    for partitions in wanted:
        found = next((other for other in runs if alike(other, partitions)), None)
        if found is not None:
            return found
    return None


def total_cpu(run: RunResult) -> float | None:
    values = [run.cpu_s_per_1000.get(name) for name in MEASURED]
    return (
        round(sum(v for v in values if v is not None), 3)
        if all(v is not None for v in values)
        else None
    )
