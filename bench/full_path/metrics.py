"""What a run measured: latency percentiles and distribution, counts per second, the sustained
verdict, and the RunResult that carries every number of one run into the report."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.full_path.config import CDF_POINTS, MIN_ACHIEVED_FRACTION, P99_LIMIT_MS


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of values sorted ascending; None when empty."""
    if not sorted_values:
        return None
    if q <= 0:
        return sorted_values[0]
    rank = math.ceil(q * len(sorted_values) / 100 - 1e-9)
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def latency_summary(latencies_ms: Iterable[float]) -> dict[str, float | None]:
    """count, p50, p95, p99, p99.9, max and mean of latencies in milliseconds."""
    values = sorted(latencies_ms)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "count": len(values),
        "p50": rounded(percentile(values, 50)),
        "p95": rounded(percentile(values, 95)),
        "p99": rounded(percentile(values, 99)),
        "p999": rounded(percentile(values, 99.9)),
        "max": rounded(values[-1] if values else None),
        "mean": rounded(sum(values) / len(values) if values else None),
    }


def latency_cdf(latencies_ms: Iterable[float]) -> list[tuple[float, float | None]]:
    """(percentile, ms) at CDF_POINTS: the latency distribution, small enough for JSON."""
    values = sorted(latencies_ms)
    return [(q, None if not values else round(percentile(values, q) or 0.0, 2)) for q in CDF_POINTS]


def per_second(times: Iterable[float], start: float, length: int | None = None) -> list[int]:
    """Counts per whole second since `start` (times before it are left out)."""
    counts: dict[int, int] = defaultdict(int)
    for t in times:
        if t >= start:
            counts[int(t - start)] += 1
    size = length if length is not None else (max(counts) + 1 if counts else 0)
    return [counts.get(second, 0) for second in range(size)]


def keeps_up(target: float, achieved: float, complete_in_drain: bool) -> tuple[bool, list[str]]:
    """The throughput verdict: the service kept pace with the target rate (latency aside)."""
    sustained, reasons = judge(target, achieved, 0.0, complete_in_drain)
    return sustained, reasons


def judge(
    target: float,
    achieved: float,
    p99_ms: float | None,
    complete_in_drain: bool,
    p99_limit_ms: float = P99_LIMIT_MS,
    min_fraction: float = MIN_ACHIEVED_FRACTION,
) -> tuple[bool, list[str]]:
    """Is a run sustained? Every order's outcome within the drain period, at least 97% of the
    target rate achieved, p99 within the limit. Returns the verdict and what failed."""
    reasons: list[str] = []
    if not complete_in_drain:
        reasons.append("not every order had its outcome within the drain period")
    if achieved < min_fraction * target:
        reasons.append(
            f"achieved {achieved:.1f}/s is below {min_fraction:.0%} of the target {target:g}/s"
        )
    if p99_ms is None:
        reasons.append("no latency measured")
    elif p99_ms > p99_limit_ms:
        reasons.append(f"p99 {p99_ms:.1f} ms is above {p99_limit_ms:g} ms")
    return not reasons, reasons


@dataclass
class RunResult:
    name: str
    scenario: str
    target_rate: float
    seconds: float
    orders: int
    first_order_id: int
    hot_sku: int | None
    started_at: float  # seconds since the stack was up
    replicas: int = 1
    partitions: int = 1
    # MariaDB's row lock waits over the run (count, milliseconds waited).
    row_lock_waits: dict[str, int] = field(default_factory=dict)
    produced_per_s: float = 0.0
    achieved_per_s: float = 0.0
    outcomes_in_window: int = 0
    outcomes_received: int = 0
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    latency_cdf_ms: list[tuple[float, float | None]] = field(default_factory=list)
    complete_in_drain: bool = False
    drain_seconds: float | None = None  # window end -> last outcome
    sustained: bool = False
    verdict: list[str] = field(default_factory=list)
    cpu_seconds: dict[str, float | None] = field(default_factory=dict)
    cpu_s_per_1000: dict[str, float | None] = field(default_factory=dict)
    machine_busy_pct: float | None = None  # the whole machine, all cores, over the window
    other_cpu_seconds: float | None = None  # machine CPU not used by the measured processes
    peak_rss_mb: dict[str, float | None] = field(default_factory=dict)
    inflight_peak: int = 0
    outbox_peak: int | None = None
    outbox_series: list[tuple[float, int | None, float | None]] = field(default_factory=list)
    produced_series: list[int] = field(default_factory=list)
    outcome_series: list[int] = field(default_factory=list)
    produce_errors: int = 0
    disturbed: bool = False  # a measured process was restarted (by someone else) meanwhile
    notes: list[str] = field(default_factory=list)
    correctness: dict[str, Any] = field(default_factory=dict)
    correct: bool = False
    latencies: list[float] = field(default_factory=list, repr=False)  # not written to JSON

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["latencies"]
        return data
