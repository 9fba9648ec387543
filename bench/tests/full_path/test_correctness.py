"""bench/full_path/correctness.py: the check after each run, every violation counted and named."""

from __future__ import annotations

import pytest

from bench.full_path.config import DEDUCTED_TOPIC, FAILED_TOPIC
from bench.full_path.correctness import check_correctness

D, F = DEDUCTED_TOPIC, FAILED_TOPIC


def good_run() -> dict:
    """Three orders: two deducted, one refused; everything recorded once."""
    return {
        "orders": {1: [(10, 2), (11, 1)], 2: [(12, 3)], 3: [(10, 1)]},
        "inbox": {1: ["SUCCEEDED"], 2: ["SUCCEEDED"], 3: ["FAILED"]},
        "events": {1: {"e1": D}, 2: {"e2": D}, 3: {"e3": F}},
        "ledger": {1: [(11, -1), (10, -2)], 2: [(12, -3)]},
    }


def test_a_correct_run_passes() -> None:
    result = check_correctness(**good_run(), copies=2)
    assert result.ok, result.problems
    assert (result.succeeded, result.failed, result.event_copies) == (2, 1, 2)


def test_lines_of_one_sku_are_merged_for_the_ledger() -> None:
    run = good_run()
    run["orders"][2] = [(12, 1), (12, 2)]
    assert check_correctness(**run).ok


@pytest.mark.parametrize(
    ("change", "counter"),
    [
        (lambda r: r["inbox"].pop(2), "inbox_missing"),
        (lambda r: r["inbox"].__setitem__(2, ["SUCCEEDED", "SUCCEEDED"]), "inbox_multiple"),
        (lambda r: r["events"].pop(1), "events_missing"),
        (lambda r: r["events"][1].__setitem__("e1-other", D), "event_ids_multiple"),
        (lambda r: r["events"].__setitem__(3, {"e3": D}), "topic_mismatch"),
        (lambda r: r["ledger"].__setitem__(1, [(10, -2)]), "ledger_wrong"),
        (lambda r: r["ledger"].__setitem__(3, [(10, -1)]), "ledger_wrong"),
        (lambda r: r["ledger"][2].append((12, -3)), "ledger_wrong"),
    ],
)
def test_each_violation_is_counted_and_named(change, counter: str) -> None:
    run = good_run()
    change(run)
    result = check_correctness(**run)
    assert not result.ok
    assert getattr(result, counter) == 1
    assert len(result.problems) == 1


def test_global_violations_fail_the_check() -> None:
    for extra, counter in (
        ({"negative_stock": [10]}, "negative_stock"),
        ({"mismatches": {10: (5, 7)}}, "ledger_mismatches"),
        ({"unpublished": 4}, "unpublished"),
    ):
        result = check_correctness(**good_run(), **extra)
        assert not result.ok and getattr(result, counter) >= 1, extra


def test_problem_examples_are_capped() -> None:
    orders = {i: [(1, 1)] for i in range(100)}
    result = check_correctness(orders, {}, {}, {}, examples=3)
    assert result.inbox_missing == 100 and result.events_missing == 100
    assert "e.g. [0, 1, 2]" in result.problems[0]
