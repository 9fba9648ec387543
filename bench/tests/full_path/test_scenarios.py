"""bench/full_path/scenarios.py: the steady search up the ladder of rates."""

from __future__ import annotations

import pytest

from bench.full_path.scenarios import RateSearch


def drive(search: RateSearch, capacity: float, full_capacity: float | None = None) -> list:
    """Runs the search against a system that sustains `capacity` in probes and
    `full_capacity` (default the same) in full-length runs; returns the steps taken."""
    steps = []
    while (step := search.next()) is not None:
        phase, rate = step
        limit = capacity if phase == "probe" else (full_capacity or capacity)
        steps.append((phase, rate))
        search.record(rate <= limit)
    return steps


def test_search_climbs_until_the_first_failure_then_confirms_the_best() -> None:
    search = RateSearch([200, 400, 600, 800, 1000])
    steps = drive(search, capacity=650)
    assert steps == [
        ("probe", 200),
        ("probe", 400),
        ("probe", 600),
        ("probe", 800),
        ("confirm", 600),
    ]
    assert search.best == 600
    assert search.failed == [800]


def test_search_steps_down_when_the_confirmation_fails() -> None:
    search = RateSearch([200, 400, 600, 800])
    steps = drive(search, capacity=650, full_capacity=450)
    assert steps[-3:] == [("probe", 800), ("confirm", 600), ("confirm", 400)]
    assert search.best == 400
    assert search.confirm_failed == [600]


def test_search_passing_the_whole_ladder_confirms_its_top() -> None:
    search = RateSearch([100, 200])
    assert drive(search, capacity=10_000) == [("probe", 100), ("probe", 200), ("confirm", 200)]
    assert search.best == 200


def test_search_goes_below_the_ladder_when_its_first_rung_fails() -> None:
    search = RateSearch([200, 400])
    steps = drive(search, capacity=120)
    # 200 fails, 150 fails, 100 passes; 150 already failed, so 100 is confirmed.
    assert steps == [("probe", 200), ("probe", 150), ("probe", 100), ("confirm", 100)]
    assert search.best == 100


def test_search_with_no_sustainable_rate_ends_without_a_best() -> None:
    search = RateSearch([200])
    steps = drive(search, capacity=10)
    assert steps == [
        ("probe", 200),
        ("probe", 150),
        ("probe", 100),
        ("probe", 50),
        ("probe", 25),
    ]
    assert search.best is None
    assert search.next() is None
    with pytest.raises(RuntimeError):
        search.record(True)


def test_search_rejects_an_empty_ladder() -> None:
    with pytest.raises(ValueError):
        RateSearch([])
