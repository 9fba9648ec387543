"""bench/full_path/report.py: the table of runs."""

from __future__ import annotations

from bench.full_path.metrics import RunResult, latency_summary
from bench.full_path.report import format_table


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
