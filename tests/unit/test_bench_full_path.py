"""The pure parts of bench/full_path/: percentiles, pacing, the steady search, the sustained
verdict, the correctness check, orders and records on the wire. No infrastructure."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime

import pytest

from bench.full_path.cli import parse_app_env, parse_args, parse_ladder
from bench.full_path.config import CDF_POINTS, DEDUCTED_TOPIC, FAILED_TOPIC
from bench.full_path.correctness import check_correctness
from bench.full_path.load import Order, cloud_event, make_orders, outcome_of, scheduled_count
from bench.full_path.metrics import (
    RunResult,
    judge,
    keeps_up,
    latency_cdf,
    latency_summary,
    per_second,
    percentile,
)
from bench.full_path.report import format_table
from bench.full_path.scenarios import RateSearch

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


def test_scheduled_count_paces_without_drift() -> None:
    assert scheduled_count(-0.1, 100) == 0
    assert scheduled_count(0, 100) == 1
    assert scheduled_count(0.0099, 100) == 1
    assert scheduled_count(0.01, 100) == 2
    assert scheduled_count(1.0, 500) == 501
    # After 60 s at 500/s, exactly 30,000 orders are due (the last one at 59.998 s).
    assert scheduled_count(59.998, 500) == 30_000


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


# -- the steady search ---------------------------------------------------------------------


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


# -- correctness ---------------------------------------------------------------------------

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


# -- orders and records --------------------------------------------------------------------

CATALOG = [(1 + i // 100, 1000 + i) for i in range(1000)]


def test_orders_have_three_distinct_skus_and_quantities_one_to_three() -> None:
    orders = make_orders(random.Random(1), CATALOG, first_id=500, count=2000)
    assert [o.order_id for o in orders] == list(range(500, 2500))
    known = set(CATALOG)
    for order in orders:
        assert len(order.lines) == 3
        assert len({s for _, s, _ in order.lines}) == 3
        assert all((p, s) in known and 1 <= q <= 3 for p, s, q in order.lines)
    quantities = {q for o in orders for _, _, q in o.lines}
    assert quantities == {1, 2, 3}


def test_hot_orders_half_include_the_hot_sku() -> None:
    hot = CATALOG[0]
    orders = make_orders(random.Random(2), CATALOG, first_id=1, count=1001, hot=hot)
    with_hot = [o for o in orders if any((p, s) == hot for p, s, _ in o.lines)]
    assert len(with_hot) == 501
    assert all(len({s for _, s, _ in o.lines}) == 3 for o in orders)
    # The hot line is not always the first one.
    assert {[(p, s) for p, s, _ in o.lines].index(hot) for o in with_hot} == {0, 1, 2}


def test_orders_need_a_big_enough_catalog() -> None:
    with pytest.raises(ValueError):
        make_orders(random.Random(3), CATALOG[:3], 1, 1, hot=CATALOG[0])


def test_payment_envelope_is_what_a_dapr_publisher_writes() -> None:
    order = Order(12345678901, ((7, 70, 2), (8, 80, 1), (9, 90, 3)))
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    envelope = json.loads(cloud_event("OnPaymentSuccess.x", order.data(), "id-1", at))
    assert envelope["specversion"] == "1.0" and envelope["id"] == "id-1"
    assert envelope["type"] == "com.dapr.event.sent"
    assert envelope["datacontenttype"] == "application/json"
    assert envelope["topic"] == "OnPaymentSuccess.x" and envelope["pubsubname"] == "pubsub"
    assert envelope["data"] == {
        "OrderId": "12345678901",
        "OrderDetails": [
            {"product_id": 7, "sku_id": 70, "quantity": 2},
            {"product_id": 8, "sku_id": 80, "quantity": 1},
            {"product_id": 9, "sku_id": 90, "quantity": 3},
        ],
    }


def test_outcome_of_reads_order_and_event_id() -> None:
    data = {"OrderId": "77", "Sku": []}
    plain = json.dumps({"id": "ev-1", "data": data}).encode()
    as_text = json.dumps({"id": "ev-2", "data": json.dumps(data)}).encode()
    b64 = json.dumps(
        {"id": "ev-3", "data_base64": base64.b64encode(json.dumps(data).encode()).decode()}
    ).encode()
    assert outcome_of(plain) == (77, "ev-1")
    assert outcome_of(as_text) == (77, "ev-2")
    assert outcome_of(b64) == (77, "ev-3")
    for bad in (b"", b"not json", b"[]", json.dumps({"data": data}).encode(), None):
        assert outcome_of(bad) is None
    assert outcome_of(json.dumps({"id": "x", "data": {"OrderId": "abc"}}).encode()) is None


# -- command line and table ----------------------------------------------------------------


def test_app_env_and_ladder_parsing() -> None:
    assert parse_app_env(["PRODUCT_A=1", "PRODUCT_B=x=y", "C="]) == {
        "PRODUCT_A": "1",
        "PRODUCT_B": "x=y",
        "C": "",
    }
    for bad in (["NOVALUE"], ["=1"], ["BAD KEY=1"]):
        with pytest.raises(ValueError):
            parse_app_env(bad)
    assert parse_ladder("200, 400,600") == [200, 400, 600]
    with pytest.raises(ValueError):
        parse_ladder("200,-1")


def test_quick_shortens_probes_and_runs() -> None:
    quick = parse_args(["--quick", "--app-env", "PRODUCT_GRPC_WORKERS=16"])
    assert (quick.probe_seconds, quick.duration) == (10, 20)
    assert quick.app_env_map == {"PRODUCT_GRPC_WORKERS": "16"}
    full = parse_args([])
    assert (full.probe_seconds, full.duration, full.scenario) == (15, 60, "all")
    with pytest.raises(SystemExit):
        parse_args(["--scenario", "hot"])  # without steady it needs --rate


def test_table_has_one_row_per_run() -> None:
    run = RunResult("steady probe 200", "steady", 200, 15, 3000, 1, None, 0.0)
    run.achieved_per_s, run.latency_ms = 199.5, latency_summary([10.0, 20.0, 300.0])
    run.cpu_s_per_1000 = {"app": 4.567}
    run.sustained, run.correct = False, True
    lines = format_table([run, run]).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("run") and "correct" in lines[0]
    assert "steady probe 200" in lines[1] and "199.5" in lines[1] and "4.57" in lines[1]
    assert lines[1].split()[-2:] == ["no", "yes"]
    assert "latencies" not in run.to_json()
