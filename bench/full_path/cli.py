"""Full-path throughput benchmark (issue 7): paid orders straight into Kafka, through the product
service's own daprd into the service and MariaDB, and its outcome events read back from Kafka.

    make bench                                   # scripts/infra up, then every scenario
    make bench BENCH_ARGS="--quick"              # 10 s probes, 20 s runs
    .venv/bin/python -m bench.full_path --scenario steady --quick \\
        --app-env PRODUCT_DATABASE_POOL_SIZE=20 --partitions 12     # after scripts/infra up

One stack serves every run: devstack's full profile (the product service beside its own daprd
on Kafka, the Redis lock store and MariaDB `product_bench`, dropped and migrated first; tracing
to Jaeger as the profile has it; no order simulator). A plain Kafka producer writes each paid
order as a Dapr publisher would (CloudEvent JSON envelope, key and partition by order id) into
this run's OnPaymentSuccess topic at a fixed rate; a consumer thread reads both outcome topics.
Every run is checked afterwards (one inbox row and one outcome event id per order, ledger,
stock, outbox); a violation makes the command exit 1. Numbers are printed and written to
bench/results/; they are never assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import traceback
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from bench.full_path.config import (
    DATABASE_URL,
    DEFAULT_LADDER,
    INFRA_PORTS,
    LINES_PER_ORDER,
    RESULTS_DIR,
    ROOT,
)
from bench.full_path.metrics import RunResult
from bench.full_path.report import cell, format_table, say, write_outputs
from bench.full_path.runner import Bench
from bench.full_path.scenarios import scale_summary, scenarios
from bench.full_path.targets import format_targets, judge_targets
from devstack.net import port_open

if TYPE_CHECKING:
    from devstack import Stack


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.full_path",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--trace-sampling",
        type=float,
        default=0.01,
        help="fraction of traces the sidecar and the app record, as a production setting would"
        " have it (the full profile records all: 1)",
    )
    parser.add_argument(
        "--scenario",
        choices=("steady", "burst", "hot", "rates", "scale", "all"),
        default="all",
        help="rates: one --duration run at each --ladder rate, no search (to compare settings);"
        " scale: a steady and a hot run at --rate (default 500) on each --replicas/--partitions",
    )
    parser.add_argument("--quick", action="store_true", help="10 s probes, 20 s runs")
    parser.add_argument("--probe-seconds", type=float, help="length of a probe (default 15)")
    parser.add_argument("--duration", type=float, help="length of a full run (default 60)")
    parser.add_argument(
        "--ladder",
        default=",".join(str(r) for r in DEFAULT_LADDER),
        help="rates the steady search probes, ascending (default %(default)s)",
    )
    parser.add_argument(
        "--baseline-rate",
        type=float,
        default=500,
        help="the steady run always made at this rate for --duration (0: none; default 500)",
    )
    parser.add_argument(
        "--throughput-rate",
        type=float,
        default=1000,
        help="a --duration run at this rate judged on keeping pace alone: at least 97%% of it"
        " came back during the run and the rest within the drain (0: none; default 1000)",
    )
    parser.add_argument(
        "--rate", type=float, help="rate for hot (burst: twice it) instead of the steady best"
    )
    parser.add_argument(
        "--low-rates",
        default="50,200",
        help="rates of the low-rate runs (scenario all), whose p50 is a target (default"
        " %(default)s; empty: none)",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        help="measure each process's CPU this long without orders (scenarios all and rates;"
        " default 60, quick 20; 0: not)",
    )
    parser.add_argument(
        "--linger-ms",
        type=float,
        default=5,
        help="the payment producer's linger.ms (default 5: orders reach the broker in batches;"
        " 0: each alone, as one daprd publisher sends them)",
    )
    parser.add_argument("--burst-seconds", type=float, default=10)
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=10,
        help="after the window, a sustained run has every outcome within this (default 10)",
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=120,
        help="stop waiting for outcomes after this many seconds without one (default 120)",
    )
    parser.add_argument("--gap-seconds", type=float, default=3, help="pause between runs")
    parser.add_argument(
        "--partitions",
        default="1",
        help="partitions of the topics (1: one service replica batches best; see README); a"
        " comma list runs each, `N` meaning as many as replicas, e.g. 6,N",
    )
    parser.add_argument(
        "--replicas",
        default="1",
        help="product-service replicas, each beside its own daprd on one consumer group; a"
        " comma list (1,2,3) runs the scenario on each, on a stack of its own",
    )
    parser.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment variable for the product service (repeatable)",
    )
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--stock", type=int, default=10_000_000, help="initial stock per SKU")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the orders")
    parser.add_argument(
        "--db-orders", type=int, help="orders per db_deduct run (default 2000, quick 500)"
    )
    parser.add_argument("--db-threads", default="1,8", help="db_deduct thread counts")
    parser.add_argument(
        "--db-batches",
        default="1,100",
        help="db_deduct orders per transaction: 1 (each alone) and a bulk delivery's size",
    )
    parser.add_argument("--no-db-ceiling", action="store_true", help="skip bench/db_deduct.py")
    parser.add_argument("--daprd-log-level", default="info")
    args = parser.parse_args(argv)
    if args.probe_seconds is None:
        args.probe_seconds = 10.0 if args.quick else 15.0
    if args.duration is None:
        args.duration = 20.0 if args.quick else 60.0
    if args.db_orders is None:
        args.db_orders = 500 if args.quick else 2000
    if args.idle_seconds is None:
        args.idle_seconds = 20.0 if args.quick else 60.0
    try:
        args.ladder_rates = parse_ladder(args.ladder)
        args.low_rate_list = parse_ladder(args.low_rates) if args.low_rates.strip() else []
        args.app_env_map = parse_app_env(args.app_env)
        args.configs = parse_configs(args.replicas, args.partitions)
    except ValueError as exc:
        parser.error(str(exc))
    if args.scenario == "scale" and args.rate is None:
        args.rate = 500.0
    if args.scenario in ("burst", "hot") and args.rate is None:
        parser.error(f"--scenario {args.scenario} without steady needs --rate")
    if args.skus < LINES_PER_ORDER + 1:
        parser.error("--skus must be at least 4")
    return args


def parse_configs(replicas: str, partitions: str) -> list[tuple[int, int]]:
    """(replicas, partitions) to run, in order: every replica count on every partition count
    (`N`: as many partitions as replicas), each pair once."""
    counts = [int(n) for n in replicas.split(",") if n.strip()]
    if not counts or min(counts) < 1:
        raise ValueError(f"--replicas wants positive counts, not {replicas!r}")
    configs: list[tuple[int, int]] = []
    for n in counts:
        for token in (t.strip() for t in partitions.split(",") if t.strip()):
            p = n if token.upper() == "N" else int(token)
            if p < n:
                raise ValueError(f"{n} replicas need at least {n} partitions, not {p}")
            if (n, p) not in configs:
                configs.append((n, p))
    return configs


def parse_app_env(items: Sequence[str]) -> dict[str, str]:
    """--app-env KEY=VALUE items as a mapping."""
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not key.replace("_", "").isalnum():
            raise ValueError(f"--app-env wants KEY=VALUE, not {item!r}")
        env[key] = value
    return env


def parse_ladder(text_: str) -> list[float]:
    rates = [float(part) for part in text_.split(",") if part.strip()]
    if not rates or any(r <= 0 for r in rates):
        raise ValueError(f"a ladder is a comma list of positive rates, not {text_!r}")
    return rates


def db_ceiling(args: argparse.Namespace, stamp: str) -> dict[str, Any] | None:
    """bench/db_deduct.py on MariaDB (it drops and migrates product_bench, so it runs before
    the stack): the best orders/s over its thread counts."""
    output = RESULTS_DIR / f"db_deduct-{stamp}.json"
    command = [
        sys.executable,
        str(ROOT / "bench" / "db_deduct.py"),
        "--databases",
        "mariadb",
        "--threads",
        args.db_threads,
        "--orders",
        str(args.db_orders),
        "--batches",
        args.db_batches,
        "--output",
        str(output),
    ]
    say(
        f"db-only ceiling: bench/db_deduct.py, MariaDB, threads {args.db_threads}, "
        f"orders per transaction {args.db_batches}, {args.db_orders} orders each"
    )
    done = subprocess.run(command, stdout=subprocess.DEVNULL, cwd=ROOT, check=False)
    if done.returncode != 0 or not output.exists():
        say(f"WARNING: bench/db_deduct.py exited {done.returncode}; no db-only ceiling")
        return None
    report = json.loads(output.read_text())
    results = report.get("results", [])
    best = max((float(r["orders_per_second"]) for r in results), default=None)
    say(f"db-only ceiling: {best} orders/s")
    return {
        "best_orders_per_second": best,
        "results": results,
        "file": str(output.relative_to(ROOT)),
    }


def fresh_database() -> None:
    """Drop every table of product_bench; devstack's `db upgrade` recreates them."""
    from sqlalchemy import text

    from product_service.infrastructure.db.engine import build_engine
    from product_service.infrastructure.db.tables import metadata

    engine = build_engine(DATABASE_URL, pool_size=1)
    try:
        with engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


def start_stack(
    args: argparse.Namespace, stamp: str, token: str, replicas: int, partitions: int
) -> Stack:
    """A stack of its own per configuration: its topics (with `partitions`) and its group."""
    from devstack import Stack

    suffix = f"bench-{token}-{replicas}r{partitions}p"
    say(
        f"stack: {replicas} product-service replica(s), each beside its daprd, full profile, "
        f"{partitions} partitions, trace sampling {args.trace_sampling:g}, "
        f"topics *.{suffix}, app env {args.app_env_map or '{}'}"
    )
    stack = Stack(
        profile="full",
        run_dir=ROOT
        / ".local"
        / "bench"
        / f"full_path-{stamp}-{token}"
        / f"{replicas}r{partitions}p",
        database_url=DATABASE_URL,
        consumer_group=f"product-consumer-{suffix}",
        topic_suffix=suffix,
        log_level=args.daprd_log_level,
        partitions=partitions,
        trace_sampling=args.trace_sampling,
    )
    try:
        stack.start_product(env=args.app_env_map, replicas=replicas)
    except BaseException:
        close_stack(stack)
        raise
    for app in stack.products:
        say(f"  {app.name}: app pid {app.pid} (HTTP {app.http_port}), daprd pid {app.sidecar.pid}")
    say(f"logs in {stack.run_dir.relative_to(ROOT)}")
    return stack


def broker_at_start() -> dict[str, int]:
    """What the broker holds before the first stack: each partition costs it CPU even idle,
    so a broker full of earlier runs' topics makes every figure worse (devstack deletes a
    stack's own topics when it stops; older leftovers stay until deleted)."""
    from devstack.kafka import broker_size

    count, partitions = broker_size(f"127.0.0.1:{INFRA_PORTS['kafka']}")
    say(f"broker: {count} topics, {partitions} partitions before this run")
    return {"topics": count, "partitions": partitions}


def close_stack(stack: Stack) -> None:
    codes = stack.close()
    say("stopped: " + ", ".join(f"{name} exit {code}" for name, code in codes.items()))


def run_config(
    args: argparse.Namespace, bench: Bench, report: dict[str, Any], replicas: int, partitions: int
) -> list[RunResult]:
    """Seed, warm up and run the scenario on one stack; its report entries under its key when
    several configurations run."""
    if not bench.catalog:
        say(f"seeding {args.skus} SKUs with stock {args.stock} each")
    bench.seed()
    bench.connect()
    part = (
        report
        if len(args.configs) == 1
        else report.setdefault("configs", {}).setdefault(
            f"{replicas} replicas, {partitions} partitions", {}
        )
    )
    part["processes"] = bench.processes.pids if bench.processes else {}
    warmup = bench.run("warmup", "warmup", 50, 2, quiet=True)
    part["warmup"] = warmup.to_json()
    say(
        f"warm-up: {warmup.orders} orders, p50 {warmup.latency_ms['p50']} ms, "
        f"{'correct' if warmup.correct else 'INCORRECT'}"
    )
    if not warmup.correct or not warmup.outcomes_received:
        raise RuntimeError(f"warm-up failed: {warmup.correctness['problems']}")
    report.setdefault("warmups_correct", []).append(warmup.correct)
    return scenarios(args, bench, part)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    down = [name for name in ("kafka", "mariadb", "redis") if not port_open(INFRA_PORTS[name])]
    if down:
        print(f"not listening: {down}; start the infrastructure with `scripts/infra up`")
        return 2
    token = uuid.uuid4().hex[:8]
    report: dict[str, Any] = {
        "benchmark": "full_path",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            key: value for key, value in vars(args).items() if key not in ("ladder", "app_env")
        },
        "database": DATABASE_URL.split("@")[-1],
        "topic_suffix": f"bench-{token}",
    }
    runs: list[RunResult] = []
    failure: str | None = None
    stack: Stack | None = None
    bench: Bench | None = None
    catalog: list[tuple[int, int]] = []
    try:
        report["db_ceiling"] = None if args.no_db_ceiling else db_ceiling(args, stamp)
        fresh_database()
        report["broker_at_start"] = broker_at_start()
        for replicas, partitions in args.configs:
            stack = start_stack(args, stamp, token, replicas, partitions)
            bench = Bench(args, stack, stack.products, catalog)
            runs += run_config(args, bench, report, replicas, partitions)
            catalog = bench.catalog
            bench.close()
            close_stack(stack)
            bench = stack = None
    except KeyboardInterrupt:
        failure = "interrupted"
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    finally:
        if bench is not None:
            bench.close()
        if stack is not None:
            close_stack(stack)
    best = (report.get("steady") or {}).get("best_rate")
    ceiling = (report.get("db_ceiling") or {}).get("best_orders_per_second")
    report["ratio_full_path_to_db"] = round(best / ceiling, 3) if best and ceiling else None
    report["failure"] = failure
    warmups = report.get("warmups_correct", [])
    correct = failure is None and all(r.correct for r in runs) and bool(warmups) and all(warmups)
    report["correct"] = correct
    targets = (
        judge_targets(
            report,
            runs,
            args.throughput_rate,
            args.baseline_rate,
            args.low_rate_list,
            args.duration,
        )
        if args.scenario in ("all", "rates") and len(args.configs) == 1
        else []
    )
    report["targets"] = [t.to_json() for t in targets]
    write_outputs(report, runs, stamp)
    print()
    print(format_table(runs))
    print()
    print(
        f"best sustained steady rate: {best if best is not None else '-'} orders/s; "
        f"db-only ceiling: {ceiling if ceiling is not None else '-'} orders/s; "
        f"ratio: {report['ratio_full_path_to_db'] if report['ratio_full_path_to_db'] else '-'}"
    )
    baseline = (report.get("steady") or {}).get("baseline")
    if baseline:
        print(f"p99 at {baseline['rate']:g} orders/s: {cell(baseline['p99_ms'])} ms")
    throughput = (report.get("steady") or {}).get("throughput")
    if throughput:
        print(
            f"throughput at {throughput['rate']:g} orders/s: achieved "
            f"{throughput['achieved_per_s']:.1f}/s, p99 {cell(throughput['p99_ms'])} ms, "
            + ("kept up" if throughput["kept_up"] else "did not keep up")
        )
    for line in scale_summary(runs):
        print(line)
    if targets:
        print()
        print("targets (issue 16):")
        print(format_targets(targets))
    if failure:
        print(f"FAILED: {failure}")
    for run in runs:
        if not run.correct:
            print(f"INCORRECT {run.name}: {'; '.join(run.correctness.get('problems', []))}")
    return 0 if correct else 1
