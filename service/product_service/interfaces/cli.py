"""The `product-service` command: database migrations, demo data and operator commands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import Engine

from product_service.application.dead_letters import DeadLetters
from product_service.application.errors import StoreRejected, TransientError
from product_service.application.service import InventoryService
from product_service.domain.commands import AdjustStock, DeductInventory, OrderLine, RevertInventory
from product_service.domain.errors import DomainError, DuplicateSkuCode
from product_service.infrastructure.db import migrate
from product_service.infrastructure.db.engine import build_engine
from product_service.infrastructure.logs import configure_logging
from product_service.infrastructure.settings import Settings
from product_service.interfaces import cli_dead_letters
from product_service.interfaces.catalog import DEMO_CATALOG

if TYPE_CHECKING:
    from product_service.bootstrap import Runtime

EXIT_DOMAIN_ERROR, EXIT_BAD_SETTINGS, EXIT_UNAVAILABLE = 1, 2, 3

log = logging.getLogger("product_service")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        return _fail(
            EXIT_BAD_SETTINGS, f"invalid settings (environment variables PRODUCT_*):\n{exc}"
        )
    database = settings.safe_database_url()
    try:
        app = CommandContext(settings)
    except OSError as exc:
        return _fail(EXIT_UNAVAILABLE, f"cannot open database {database}: {exc}")
    try:
        if args.handler not in (_db_upgrade, _db_current) and not getattr(args, "migrate", False):
            _require_current_schema(app)
        return args.handler(app, args) or 0
    except DomainError as exc:
        return _fail(EXIT_DOMAIN_ERROR, f"{exc.code}: {exc}")
    except StoreRejected as exc:
        return _fail(EXIT_DOMAIN_ERROR, f"database {database} refused the change: {exc}")
    except TransientError as exc:
        return _fail(EXIT_UNAVAILABLE, f"database {database} unavailable: {exc}")
    finally:
        app.close()


class CommandContext:
    """What a command works on: the database, and the service's runtime when the command uses
    it. The runtime (and with it the Dapr SDK) is imported on first use: `db upgrade` runs in
    init containers and jobs that have no sidecar and should load nothing they do not use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = build_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        self._runtime: Runtime | None = None

    @property
    def inventory(self) -> InventoryService:
        return self._built().inventory

    @property
    def dead_letters(self) -> DeadLetters:
        return self._built().dead_letters

    def _built(self) -> Runtime:
        if self._runtime is None:
            from product_service.bootstrap import Adapters, build_runtime

            self._runtime = build_runtime(self.settings, Adapters(engine=self.engine))
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()  # disposes the engine too
        else:
            self.engine.dispose()


def _fail(code: int, message: str) -> int:
    print(f"product-service: error: {message}", file=sys.stderr)
    return code


def _require_current_schema(app: CommandContext) -> None:
    current, head = migrate.current_revision(app.engine), migrate.head_revision(app.engine)
    if current != head:
        raise DomainError(
            f"database schema is at {current or 'nothing'}, newest is {head}: "
            "run `product-service db upgrade` first",
            code="SCHEMA_OUTDATED",
        )


def _db_upgrade(app: CommandContext, _args: argparse.Namespace) -> None:
    migrate.upgrade(app.engine)
    print(
        f"database {app.settings.safe_database_url()} "
        f"at revision {migrate.current_revision(app.engine)}"
    )


def _db_current(app: CommandContext, _args: argparse.Namespace) -> None:
    current, head = migrate.current_revision(app.engine), migrate.head_revision(app.engine)
    print(
        f"current {current or '(empty)'}, newest {head}"
        + ("" if current == head else " (run: db upgrade)")
    )


def _serve(app: CommandContext, args: argparse.Namespace) -> int:
    if args.migrate:
        _db_upgrade(app, args)
    app.close()  # the server builds its own runtime from the same settings
    configure_logging(app.settings.log_level, app.settings.log_format)
    log.info(
        "starting: database %s, app channel port %d, HTTP port %d, tracing %s",
        app.settings.safe_database_url(),
        app.settings.grpc_port,
        app.settings.http_port,
        app.settings.otel_endpoint or "off",
    )
    from product_service.interfaces.server import serve

    return serve(app.settings)


def _seed(app: CommandContext, _args: argparse.Namespace) -> None:
    for product in DEMO_CATALOG:
        try:
            created = app.inventory.create_product(product)
            print(f"created product {created.id} {created.name!r} with {len(created.skus)} SKUs")
        except DuplicateSkuCode:
            print(f"kept existing product {product.name!r}")
    for product in DEMO_CATALOG:
        for new in product.skus:
            _print_sku(app, new.code)


def _stock(app: CommandContext, args: argparse.Namespace) -> None:
    for code in args.codes:
        _print_sku(app, code)


def _print_sku(app: CommandContext, code: str) -> None:
    sku = app.inventory.stock_by_code(code)
    alert = "  LOW" if sku.below_threshold else ""
    print(
        f"{sku.code:<16} id={sku.id:<6} stock={sku.stock:<6} threshold={sku.warn_threshold:<5}"
        f" sales={sku.sales:<6} {sku.status.value}{alert}"
    )


def _order(app: CommandContext, args: argparse.Namespace) -> None:
    for record in app.inventory.order_record(args.order_id):
        print(
            f"order {record.order_id} {record.operation.value:<6} {record.outcome.value:<9} "
            f"reason={record.reason.value:<18} at {record.created_at:%Y-%m-%d %H:%M:%S} "
            f"message={record.message_id or '-'}"
        )


def _deduct(app: CommandContext, args: argparse.Namespace) -> None:
    lines = tuple(OrderLine(sku_id, quantity) for sku_id, quantity in args.lines)
    result = app.inventory.deduct(DeductInventory(args.order_id, lines, message_id="cli"))
    print(
        f"order {result.order_id}: {result.outcome.value} reason={result.reason.value}"
        + (" (already decided earlier; nothing changed)" if result.duplicate else "")
    )


def _revert(app: CommandContext, args: argparse.Namespace) -> None:
    result = app.inventory.revert(RevertInventory(args.order_id, message_id="cli"))
    print(
        f"order {result.order_id}: reverted"
        + (" earlier; nothing changed" if result.duplicate else "")
    )


def _adjust(app: CommandContext, args: argparse.Namespace) -> None:
    sku = app.inventory.adjust(AdjustStock(args.sku_id, args.delta, args.reason))
    print(f"SKU {sku.id} {sku.code}: stock now {sku.stock}")


def _reconcile(app: CommandContext, _args: argparse.Namespace) -> None:
    mismatches = app.inventory.ledger_mismatches()
    for sku_id, (stock, ledger) in sorted(mismatches.items()):
        print(f"SKU {sku_id}: stock {stock} but ledger sums to {ledger}")
    if mismatches:
        raise DomainError(f"{len(mismatches)} SKUs do not reconcile", code="LEDGER_MISMATCH")
    print("ledger reconciles with stock for every SKU")


def _line(text: str) -> tuple[int, int]:
    try:
        sku_id, quantity = text.split(":")
        return int(sku_id), int(quantity)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not SKU_ID:QUANTITY") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="product-service", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(
        name: str, handler: Callable[[CommandContext, argparse.Namespace], int | None], help: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    db = commands.add_parser("db", help="database schema migrations").add_subparsers(
        required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="migrate the database to the newest schema").set_defaults(
        handler=_db_upgrade
    )
    db.add_parser("current", help="show the schema revision").set_defaults(handler=_db_current)
    command(
        "serve", _serve, "run the service: Dapr app channel (gRPC) and HTTP, until SIGTERM"
    ).add_argument(
        "--migrate", action="store_true", help="upgrade the database schema before serving"
    )
    command("seed", _seed, "load the demo catalog (idempotent)")
    command("stock", _stock, "show stock of SKUs by code").add_argument(
        "codes", nargs="+", metavar="SKU_CODE"
    )
    command("order", _order, "show what was recorded for an order").add_argument(
        "order_id", type=int
    )
    deduct = command("deduct", _deduct, "deduct stock for an order by hand (idempotent per order)")
    deduct.add_argument("order_id", type=int)
    deduct.add_argument("lines", nargs="+", type=_line, metavar="SKU_ID:QUANTITY")
    command("revert", _revert, "revert an order's deduction (idempotent)").add_argument(
        "order_id", type=int
    )
    adjust = command("adjust", _adjust, "restock (+N) or correct (-N) a SKU's stock, with a reason")
    adjust.add_argument("sku_id", type=int)
    adjust.add_argument("delta", type=int)
    adjust.add_argument("reason")
    command("reconcile", _reconcile, "check that the ledger sums to each SKU's stock")
    cli_dead_letters.add_commands(commands, lambda sub, handler: sub.set_defaults(handler=handler))
    return parser


if __name__ == "__main__":
    sys.exit(main())
