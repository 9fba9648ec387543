"""python -m order_simulator serve | demo"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="order_simulator")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the simulator app (beside its daprd)")
    demo = commands.add_parser("demo", help="the embedded demo behind `make demo`")
    demo.add_argument("--run-dir", default=".local/demo")
    demo.add_argument("--orders", type=int, default=20)
    args = parser.parse_args(argv)
    if args.command == "serve":
        from order_simulator.app import serve

        serve()
        return 0
    from order_simulator.demo import run_demo

    return run_demo(str(args.run_dir), int(args.orders))


if __name__ == "__main__":
    sys.exit(main())
