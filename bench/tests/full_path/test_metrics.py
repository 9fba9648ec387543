"""bench/full_path/metrics.py: percentiles, latency, counts per second, the sustained verdict."""

from __future__ import annotations

import pytest

from bench.full_path.config import CDF_POINTS
from bench.full_path.metrics import (
    judge,
    keeps_up,
    latency_cdf,
    latency_summary,
    per_second,
    percentile,
)

# -- percentiles and series ----------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 99.9) == 100
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2
    assert percentile([7.0], 99) == 7
    assert percentile([], 50) is None


def test_latency_summary_sorts_and_rounds() -> None:
    summary = latency_summary([5.0, 1.0, 3.0, 2.0, 4.0, 100.123456])
    assert summary["count"] == 6
    assert summary["p50"] == 3.0
    assert summary["p99"] == 100.12
    assert summary["max"] == 100.12
    assert summary["mean"] == pytest.approx(19.19, abs=0.01)
    empty = latency_summary([])
    assert empty["count"] == 0 and empty["p99"] is None and empty["max"] is None


def test_latency_cdf_covers_the_points() -> None:
    cdf = latency_cdf([float(v) for v in range(1, 1001)])
    as_dict = dict(cdf)
    assert [q for q, _ in cdf] == list(CDF_POINTS)
    assert as_dict[50] == 500 and as_dict[99] == 990 and as_dict[100] == 1000


def test_per_second_counts_whole_seconds_from_the_start() -> None:
    assert per_second([10.0, 10.2, 10.99, 11.0, 13.5, 9.0], start=10.0) == [3, 1, 0, 1]
    assert per_second([10.5], start=10.0, length=3) == [1, 0, 0]
    assert per_second([], start=0.0) == []


# -- the sustained verdict -----------------------------------------------------------------


def test_judge_passes_a_sustained_run() -> None:
    assert judge(500, 496.0, 120.0, True) == (True, [])


@pytest.mark.parametrize(
    ("achieved", "p99", "complete", "reason"),
    [
        (480.0, 120.0, True, "below 97%"),
        (500.0, 250.5, True, "p99 250.5 ms is above 250 ms"),
        (500.0, None, True, "no latency"),
        (500.0, 120.0, False, "drain period"),
    ],
)
def test_judge_names_what_failed(
    achieved: float, p99: float | None, complete: bool, reason: str
) -> None:
    sustained, reasons = judge(500, achieved, p99, complete)
    assert not sustained
    assert len(reasons) == 1 and reason in reasons[0]


def test_judge_at_the_limits_passes() -> None:
    assert judge(500, 485.0, 250.0, True)[0]
    assert not judge(500, 484.9, 250.0, True)[0]


def test_keeping_up_ignores_latency_but_not_pace_or_drain() -> None:
    assert keeps_up(1000, 985.0, True) == (True, [])
    assert not keeps_up(1000, 969.0, True)[0]
    assert not keeps_up(1000, 1000.0, False)[0]
