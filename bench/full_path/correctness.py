"""The check after every run: each order decided once, one outcome event on the right topic,
its ledger rows, and the stock, ledger and outbox of the whole database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.full_path.config import OUTCOME_TOPIC


@dataclass
class Correctness:
    orders: int
    succeeded: int = 0
    failed: int = 0
    inbox_missing: int = 0
    inbox_multiple: int = 0
    events_missing: int = 0
    event_ids_multiple: int = 0
    topic_mismatch: int = 0
    ledger_wrong: int = 0
    event_copies: int = 0  # the same event id read more than once: allowed (at least once)
    negative_stock: int = 0
    ledger_mismatches: int = 0
    unpublished: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_correctness(
    orders: Mapping[int, Sequence[tuple[int, int]]],
    inbox: Mapping[int, Sequence[str]],
    events: Mapping[int, Mapping[str, str]],
    ledger: Mapping[int, Sequence[tuple[int, int]]],
    negative_stock: Sequence[int] = (),
    mismatches: Mapping[int, tuple[int, int]] | None = None,
    unpublished: int = 0,
    copies: int = 0,
    examples: int = 3,
) -> Correctness:
    """Every order of a run: exactly one recorded deduct outcome (inbox), exactly one outcome
    event id on Kafka, on the topic of that outcome, and ledger rows equal to its lines (none
    when refused); no negative stock, stock = ledger sum for every SKU, no unpublished outbox
    row.

    orders: order id -> (SKU id, quantity) lines; inbox: order id -> DEDUCT outcomes;
    events: order id -> {event id: contract topic}; ledger: order id -> (SKU id, delta) rows.
    """
    result = Correctness(orders=len(orders), event_copies=copies)
    found: dict[str, list[int]] = defaultdict(list)
    for order_id, lines in orders.items():
        recorded = list(inbox.get(order_id, ()))
        seen = dict(events.get(order_id, {}))
        if not recorded:
            found["inbox_missing"].append(order_id)
        elif len(recorded) > 1:
            found["inbox_multiple"].append(order_id)
        if not seen:
            found["events_missing"].append(order_id)
        elif len(seen) > 1:
            found["event_ids_multiple"].append(order_id)
        if len(recorded) == 1:
            outcome = recorded[0]
            result.succeeded += outcome == "SUCCEEDED"
            result.failed += outcome == "FAILED"
            if len(seen) == 1 and OUTCOME_TOPIC.get(outcome) != next(iter(seen.values())):
                found["topic_mismatch"].append(order_id)
            merged: dict[int, int] = defaultdict(int)
            for sku, quantity in lines:
                merged[sku] += quantity
            expected = sorted((s, -q) for s, q in merged.items()) if outcome == "SUCCEEDED" else []
            if sorted(ledger.get(order_id, ())) != expected:
                found["ledger_wrong"].append(order_id)
    what = {
        "inbox_missing": "orders without a recorded deduct outcome",
        "inbox_multiple": "orders with more than one recorded deduct outcome",
        "events_missing": "orders without an outcome event on Kafka",
        "event_ids_multiple": "orders with more than one outcome event id on Kafka",
        "topic_mismatch": "orders whose outcome event is on the wrong topic",
        "ledger_wrong": "orders whose ledger rows differ from their lines",
    }
    for key, text_ in what.items():
        ids = found.get(key, [])
        setattr(result, key, len(ids))
        if ids:
            result.problems.append(f"{len(ids)} {text_}, e.g. {sorted(ids)[:examples]}")
    result.negative_stock = len(negative_stock)
    if negative_stock:
        result.problems.append(
            f"{len(negative_stock)} SKUs with negative stock, "
            f"e.g. {list(negative_stock)[:examples]}"
        )
    mismatches = mismatches or {}
    result.ledger_mismatches = len(mismatches)
    if mismatches:
        sample = dict(sorted(mismatches.items())[:examples])
        result.problems.append(
            f"{len(mismatches)} SKUs whose stock differs from their ledger sum "
            f"(sku: (stock, ledger)), e.g. {sample}"
        )
    result.unpublished = unpublished
    if unpublished:
        result.problems.append(f"{unpublished} outbox rows unpublished after the drain")
    return result
