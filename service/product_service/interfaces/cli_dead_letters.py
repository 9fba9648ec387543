"""`product-service dead-letters`: list, show, replay and discard what the sidecar gave up on."""

from __future__ import annotations

import argparse
import getpass
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

from product_service.application.dead_letters import DeadLetters
from product_service.domain.dead_letters import DeadLetter, DeadLetterFilter
from product_service.domain.errors import DomainError
from product_service.infrastructure.telemetry import tracer

PAGE = 1000
_AGO = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class HasDeadLetters(Protocol):
    @property
    def dead_letters(self) -> DeadLetters: ...


Handler = Callable[[HasDeadLetters, argparse.Namespace], None]


def moment(text: str) -> datetime:
    """ISO 8601 (UTC unless it says otherwise), or a time ago: 90s, 30m, 2h, 7d."""
    ago = _AGO.match(text)
    if ago:
        amount, unit = ago.groups()
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an ISO 8601 time nor a time ago like 30m, 2h, 7d"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def add_commands(commands: argparse._SubParsersAction, register: Callable[..., None]) -> None:  # type: ignore[type-arg]
    """`dead-letters list | show | replay | discard` under `commands`; `register(parser,
    handler)` binds each to the context the CLI builds."""
    group = commands.add_parser("dead-letters", help="messages the sidecar dead-lettered")
    actions = group.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="dead letters, oldest first")
    _selection(listing)
    listing.add_argument("--reason", help="only this reason, e.g. RETRIES_EXHAUSTED")
    listing.add_argument("--discarded", action="store_true", help="include discarded ones")
    register(listing, _list)
    show = actions.add_parser("show", help="one dead letter with its payload")
    show.add_argument("id", type=int)
    register(show, _show)
    replay = actions.add_parser(
        "replay",
        help="put dead letters back on their original topic (through the outbox; the "
        "running service publishes them within about PRODUCT_SWEEP_MIN_AGE_SECONDS)",
    )
    replay.add_argument("ids", type=int, nargs="*", metavar="ID")
    _selection(replay)
    replay.add_argument("--request-id", help="repeat a request: nothing is replayed twice")
    replay.add_argument("--by", default=_operator(), help="who replays (default: your user)")
    register(replay, _replay)
    discard = actions.add_parser("discard", help="keep dead letters out of lists and replays")
    discard.add_argument("ids", type=int, nargs="+", metavar="ID")
    register(discard, _discard)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", help="the topic the messages were meant for")
    parser.add_argument("--since", type=moment, help="first seen at or after (ISO 8601, 2h)")
    parser.add_argument("--until", type=moment, help="first seen before")


def _list(context: HasDeadLetters, args: argparse.Namespace) -> None:
    which = DeadLetterFilter(
        args.topic, args.reason, args.since, args.until, include_discarded=args.discarded
    )
    count = 0
    for letter in _all(context.dead_letters, which):
        count += 1
        order = letter.order_id if letter.order_id is not None else "-"
        print(
            f"{letter.id:<6} {letter.first_seen_at:%Y-%m-%d %H:%M:%S} {letter.original_topic:<28}"
            f" {letter.reason:<20} order={order:<8} seen={letter.times_seen:<3}"
            f" {letter.payload_size} bytes{' (discarded)' if letter.discarded_at else ''}"
        )
    print(f"{count} dead letter(s)")


def _show(context: HasDeadLetters, args: argparse.Namespace) -> None:
    letter = context.dead_letters.get(args.id)
    for name in ("id", "topic", "original_topic", "event_id", "order_id", "reason", "detail"):
        print(f"{name:<15} {getattr(letter, name)}")
    print(
        f"{'seen':<15} {letter.times_seen} time(s), {letter.first_seen_at} .. {letter.last_seen_at}"
    )
    if letter.discarded_at:
        print(f"{'discarded':<15} {letter.discarded_at}")
    kept = f" (first {len(letter.payload)} kept)" if letter.truncated else ""
    print(f"{'payload':<15} {letter.payload_size} bytes{kept}, {letter.content_type or '-'}:")
    print(letter.payload.decode(errors="replace"))


def _replay(context: HasDeadLetters, args: argparse.Namespace) -> None:
    ids = list(args.ids)
    if not ids and not (args.topic or args.since):
        raise DomainError(
            "name dead letter ids, or select them with --topic/--since", code="NOTHING_SELECTED"
        )
    if not ids:
        which = DeadLetterFilter(args.topic, None, args.since, args.until)
        ids = [letter.id for letter in _all(context.dead_letters, which)]
    request_id = args.request_id or str(uuid.uuid4())
    # The outbox rows carry this span's context: each publish continues the replay's trace.
    with tracer().start_as_current_span(
        "dead-letters replay", attributes={"replay.request_id": request_id, "replay.by": args.by}
    ):
        report = context.dead_letters.replay(ids, request_id, args.by)
    print(f"replay request {request_id} by {args.by}:")
    print(f"  replayed {len(report.replayed)}: {_ids(report.replayed)}")
    if report.already_replayed:
        print(
            f"  already replayed by this request {len(report.already_replayed)}: "
            f"{_ids(report.already_replayed)}"
        )
    for dead_letter_id, why in sorted(report.refused.items()):
        print(f"  not replayed {dead_letter_id}: {why}")
    if report.refused:
        raise DomainError(f"{len(report.refused)} dead letter(s) not replayed", code="NOT_REPLAYED")


def _discard(context: HasDeadLetters, args: argparse.Namespace) -> None:
    discarded = context.dead_letters.discard(args.ids)
    print(f"discarded {len(discarded)}: {_ids(discarded)}")
    rest = sorted(set(args.ids) - set(discarded))
    if rest:
        print(f"unknown or discarded before: {_ids(rest)}")


def _all(dead_letters: DeadLetters, which: DeadLetterFilter) -> Iterator[DeadLetter]:
    after = 0
    while True:
        page = dead_letters.find(_page(which, after))
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].id


def _page(which: DeadLetterFilter, after_id: int) -> DeadLetterFilter:
    return DeadLetterFilter(
        which.topic, which.reason, which.since, which.until, which.include_discarded, after_id, PAGE
    )


def _ids(ids: list[int]) -> str:
    return " ".join(map(str, sorted(ids))) or "-"


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
