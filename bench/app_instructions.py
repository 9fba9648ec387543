"""The app's instructions per order, in process: bench/app_path.py run twice under valgrind's
callgrind, with two order counts, and the difference divided by the extra orders. Start-up,
seeding and warm-up cancel out; what is left is the marginal cost of one more order (handler,
relay and the SQL client; MariaDB runs in its own process and is not counted).

Instruction counts do not depend on what else the machine is doing: on a shared, noisy machine
a lever shows here as a difference of a few percent that timings would hide. They are not
time (a cache miss costs more than an add), so confirm a lever end to end with bench.full_path.

    .venv/bin/python bench/app_instructions.py                 # needs MariaDB and valgrind
    .venv/bin/python bench/app_instructions.py --batch 1 --orders 300,600

Under valgrind Python runs some 50 times slower: each run spends about a minute starting and
seeding, then 15 s (40 per delivery) to 60 s (1 per delivery) per thousand orders.
Tracing is off (`--otel-endpoint ''`): the exporter's retries would count.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLLECTED = re.compile(r"Collected : (\d+)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=40, help="orders per bulk delivery")
    parser.add_argument("--orders", default="2000,4000", help="the two order counts")
    parser.add_argument("--database-url", help="passed to app_path.py (its default otherwise)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    fewer, more = sorted(int(n) for n in args.orders.split(","))
    if fewer == more:
        parser.error("--orders needs two different counts")
    counts = {n: instructions(n, args.batch, args.database_url) for n in (fewer, more)}
    per_order = (counts[more] - counts[fewer]) / (more - fewer)
    result = {"batch": args.batch, "instructions": counts, "per_order": round(per_order)}
    print(f"batch {args.batch:>4}: {per_order / 1e6:.3f} M instructions per order", flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


def instructions(orders: int, batch: int, database_url: str | None) -> int:
    print(f"callgrind: {orders} orders, {batch} per delivery ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={scratch}/callgrind.out",
            sys.executable,
            str(ROOT / "bench" / "app_path.py"),
            f"--batches={batch}",
            f"--orders={orders}",
            "--otel-endpoint=",
            *([f"--database-url={database_url}"] if database_url else []),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        sys.stderr.write(done.stdout + done.stderr[-3000:])
        raise SystemExit(f"app_path.py under callgrind failed (exit {done.returncode})")
    count = int(found.group(1))
    seconds = time.monotonic() - started
    print(f"callgrind: {count:,} instructions in {seconds:.0f} s", file=sys.stderr, flush=True)
    return count


if __name__ == "__main__":
    sys.exit(main())
