"""Issue 16's targets judged from runs: which run each is taken from, and met / missed / not
measured."""

from __future__ import annotations

from bench.full_path.metrics import RunResult
from bench.full_path.targets import format_targets, judge_targets


def run(
    name: str,
    rate: float,
    seconds: float = 60,
    *,
    p50: float = 10.0,
    p99: float = 50.0,
    app: float = 0.2,
    correct: bool = True,
    hot: bool = False,
) -> RunResult:
    result = RunResult(name, "rates", rate, seconds, int(rate * seconds), 1, 7 if hot else None, 0)
    result.latency_ms = {"p50": p50, "p99": p99}
    result.cpu_s_per_1000 = {"app": app, "daprd": 0.1, "kafka": 0.1, "mariadb": 0.1}
    result.correct = correct
    return result


def judged(runs: list[RunResult], report: dict[str, object] | None = None) -> dict[str, object]:
    targets = judge_targets(report or {}, runs, 1000, 500, [50, 200], 60)
    return {t.name: (t.measured, t.met, t.source) for t in targets}


def test_each_target_comes_from_the_last_correct_full_run_at_its_rate() -> None:
    runs = [
        run("probe 1000", 1000, seconds=15, app=0.01),  # a probe: shorter than a full run
        run("rate 1000", 1000, app=0.3),
        run("hot 1000", 1000, app=0.01, hot=True),
        run("rate 1000 again", 1000, app=0.2, correct=False),
        run("rate 500", 500, p99=120),
        run("rate 50", 50, p50=20),
        run("rate 200", 200, p50=30),
    ]
    got = judged(runs)
    assert got["the app's CPU s per 1,000 orders at 1000/s"] == (0.3, False, "rate 1000")
    assert got["CPU s per 1,000 orders at 1000/s (app+daprd+kafka+mariadb)"] == (
        0.6,
        True,
        "rate 1000",
    )
    assert got["p99 at 500/s"] == (120, False, "rate 500")
    assert got["p50 at 50/s"] == (20, True, "rate 50")
    assert got["p50 at 200/s"] == (30, False, "rate 200")


def test_the_search_ratio_and_idle_targets_come_from_the_report() -> None:
    report = {
        "steady": {"best_rate": 2000.0},
        "ratio_full_path_to_db": 0.55,
        "idle": {"seconds": 60, "total_pct": 4.2, "pct": {"app": 1.5}},
    }
    got = judged([], report)
    assert got["best sustained rate (p99 <= 250 ms)"] == (2000.0, True, "steady search")
    assert got["full path / db-only ceiling"][:2] == (0.55, False)
    assert got["idle stack, % of one core (app+daprd+kafka+mariadb+redis)"][:2] == (4.2, True)
    assert got["idle app, % of one core"][:2] == (1.5, False)


def test_what_no_run_measured_is_said_so() -> None:
    targets = judge_targets({}, [], 1000, 500, [], 60)
    assert {t.met for t in targets} == {None}
    table = format_targets(targets)
    assert table.count("not measured") == len(targets)
    assert "| p99 at 500/s | <= 100 ms | - | not measured | - |" in table
