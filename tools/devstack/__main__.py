"""python -m devstack run --profile embedded|full: the product service in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from types import FrameType

from sqlalchemy.engine import make_url

from devstack.errors import DevstackError, with_logs
from devstack.process import App
from devstack.stack import PROFILES, Stack

FULL_DATABASE_URL = "mysql+pymysql://product:product@127.0.0.1:3306/product"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start the product service and its sidecar")
    run.add_argument("--profile", choices=PROFILES, default="embedded")
    run.add_argument("--run-dir", default=None)
    run.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="product-service replicas (full profile: one app id, one consumer group)",
    )
    run.add_argument("--partitions", type=int, default=6, help="partitions of new topics")
    args = parser.parse_args(argv)
    if args.replicas > 1 and args.profile != "full":
        parser.error("several replicas need the full profile (a shared broker and database)")
    run_dir = args.run_dir or f".local/run/{args.profile}"
    return run_foreground(args.profile, run_dir, args.replicas, args.partitions)


def run_foreground(profile: str, run_dir: str, replicas: int = 1, partitions: int = 6) -> int:
    database_url = os.environ.get("PRODUCT_DATABASE_URL")
    if database_url is None and profile == "full":
        database_url = FULL_DATABASE_URL
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    stack = Stack(
        profile=profile, run_dir=run_dir, database_url=database_url, partitions=partitions
    )
    try:
        stack.start_product(replicas=replicas)
        print(f"product-service ({profile}, {replicas} replica(s)) is up; Ctrl-C stops it")
        masked = make_url(stack.database_url).render_as_string(hide_password=True)
        print(f"  database      {masked}")
        for product in stack.products:
            _describe(product, several=replicas > 1)
        while True:
            for product in stack.products:
                dead = product.exit_reason() or product.sidecar.exit_reason()
                if dead is not None:
                    raise with_logs(dead, product.log_path, product.sidecar.log_path)
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except DevstackError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        codes = stack.close()
        print("stopped: " + ", ".join(f"{name} exit {code}" for name, code in codes.items()))


def _describe(product: App, several: bool) -> None:
    side = product.sidecar
    if several:
        print(f"  {product.name}")
    print(f"  HTTP          http://127.0.0.1:{product.http_port}  (/readyz, /docs, /outbox)")
    print(f"  HTTP token    PRODUCT_HTTP_TOKEN={product.http_token}  (this run only; the")
    print("                views ask for it: Authorization: Bearer <token>)")
    print(f"  app channel   127.0.0.1:{product.app_port} (gRPC)")
    print(f"  sidecar       gRPC 127.0.0.1:{side.grpc_port}  HTTP 127.0.0.1:{side.http_port}")
    print(f"  sidecar token DAPR_API_TOKEN={side.api_token}  (this run only; send it as")
    print("                the dapr-api-token header or gRPC metadata)")
    print(f"  logs          {product.log_path}\n                {side.log_path}", flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
