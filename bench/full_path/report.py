"""What the bench shows and writes: progress lines, the table of runs, and the JSON and PNG in
bench/results/."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.full_path.config import P99_LIMIT_MS, RESULTS_DIR, ROOT
from bench.full_path.metrics import RunResult


def say(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


TABLE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("run", 24),
    ("N", 2),
    ("P", 2),
    ("target/s", 8),
    ("prod/s", 7),
    ("achv/s", 7),
    ("p50", 7),
    ("p95", 7),
    ("p99", 7),
    ("max ms", 8),
    ("app s/1k", 8),
    ("daprd", 6),
    ("kafka", 6),
    ("mariadb", 7),
    ("RSS MB", 6),
    ("lag pk", 6),
    ("outbox", 6),
    ("drain s", 7),
    ("busy%", 5),
    ("lockw", 5),
    ("sust", 4),
    ("correct", 7),
)


def cell(value: float | int | str | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table_row(run: RunResult) -> list[str]:
    lat, cpu = run.latency_ms, run.cpu_s_per_1000
    return [
        run.name,
        cell(run.replicas),
        cell(run.partitions),
        cell(run.target_rate, 0),
        cell(run.produced_per_s),
        cell(run.achieved_per_s),
        cell(lat.get("p50")),
        cell(lat.get("p95")),
        cell(lat.get("p99")),
        cell(lat.get("max")),
        cell(cpu.get("app"), 2),
        cell(cpu.get("daprd"), 2),
        cell(cpu.get("kafka"), 2),
        cell(cpu.get("mariadb"), 2),
        cell(run.peak_rss_mb.get("app"), 0),
        cell(run.inflight_peak),
        cell(run.outbox_peak),
        cell(run.drain_seconds),
        cell(run.machine_busy_pct, 0),
        cell(run.row_lock_waits.get("waits")),
        "yes" if run.sustained else "no",
        "yes" if run.correct else "NO",
    ]


def format_table(runs: Sequence[RunResult]) -> str:
    """One row per run; CPU columns are CPU seconds per 1,000 orders."""
    rows = [[name for name, _ in TABLE_COLUMNS], *(table_row(r) for r in runs)]
    widths = [max(w, *(len(row[i]) for row in rows)) for i, (_, w) in enumerate(TABLE_COLUMNS)]
    lines = []
    for row in rows:
        first = row[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join([first, *rest]))
    return "\n".join(lines)


def plot(runs: Sequence[RunResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(13, 10))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, run in enumerate(runs):
        color = colors[n % len(colors)]
        x_out = [run.started_at + s for s in range(len(run.outcome_series))]
        x_prod = [run.started_at + s for s in range(len(run.produced_series))]
        top.plot(x_out, run.outcome_series, color=color, label=run.name)
        top.plot(x_prod, run.produced_series, color=color, linestyle="--", alpha=0.6)
        values = sorted(run.latencies)
        if values:
            share = [(i + 1) / len(values) for i in range(len(values))]
            bottom.plot(
                values, share, color=color, label=f"{run.name} (p99 {run.latency_ms['p99']} ms)"
            )
    top.set_title("throughput per second: outcomes received (solid), orders produced (dashed)")
    top.set_xlabel("seconds since the stack was up")
    top.set_ylabel("orders/s")
    top.grid(alpha=0.3)
    top.legend(fontsize="small", ncol=2)
    bottom.axvline(P99_LIMIT_MS, color="grey", linestyle=":", label=f"{P99_LIMIT_MS:g} ms")
    bottom.axhline(0.99, color="grey", linestyle=":")
    bottom.set_xscale("log")
    bottom.set_title("end-to-end latency (produce -> outcome received): cumulative distribution")
    bottom.set_xlabel("ms")
    bottom.set_ylabel("share of orders")
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize="small", ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_outputs(report: dict[str, Any], runs: Sequence[RunResult], stamp: str) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    report["runs"] = [r.to_json() for r in runs]
    text_ = json.dumps(report, indent=2) + "\n"
    out = RESULTS_DIR / f"full_path-{stamp}.json"
    out.write_text(text_)
    (RESULTS_DIR / "full_path-latest.json").write_text(text_)
    written = [out]
    if runs:
        png = RESULTS_DIR / f"full_path-{stamp}.png"
        try:
            plot(runs, png)
            written.append(png)
        except Exception as exc:  # a plot problem must not hide the numbers
            say(f"WARNING: no plot: {exc!r}")
    say("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written))
