"""Deduct an order's stock: all lines or none, once per order whatever the deliveries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from product_service.application.errors import DuplicateOperation
from product_service.application.idempotency import decide_once
from product_service.application.ports import (
    Clock,
    DistributedLock,
    OutboxNotifier,
    UnitOfWork,
)
from product_service.application.results import OperationResult
from product_service.domain.commands import DeductInventory, OrderLimits
from product_service.domain.events import (
    DeductedSku,
    FailedLine,
    InventoryDeducted,
    InventoryDeductFailed,
    OutcomeEvent,
)
from product_service.domain.model import (
    FailureReason,
    InboxRecord,
    LedgerKind,
    Operation,
    Outcome,
    Sku,
    StockLedgerEntry,
)

NONE = FailureReason.NONE


def deduct_inventory(
    command: DeductInventory,
    uow: UnitOfWork,
    lock: DistributedLock,
    limits: OrderLimits,
    clock: Clock,
    notifier: OutboxNotifier | None = None,
) -> OperationResult:
    command = command.validated(limits)  # bad input never reaches the lock store
    return decide_once(
        uow,
        lock,
        command.order_id,
        Operation.DEDUCT,
        lambda: deduct_once(command, uow, clock),
        notifier,
    )


def deduct_once(command: DeductInventory, uow: UnitOfWork, clock: Clock) -> OperationResult:
    previous = uow.inbox.get(command.order_id, Operation.DEDUCT)
    if previous is not None and previous.is_settled:
        return OperationResult.duplicate_of(previous)
    record = InboxRecord(
        command.order_id,
        Operation.DEDUCT,
        command.message_id,
        Outcome.PENDING,
        FailureReason.NONE,
        clock.now(),
    )
    if previous is None:
        uow.inbox.add(record)
        event = _deduct_all_or_nothing(command, uow, clock)
        expected = Outcome.PENDING
    else:  # the order was reverted before its payment was processed
        skus = uow.skus.get_many(line.sku_id for line in command.lines)
        event = refusal(command, skus, reason=FailureReason.ORDER_REVERTED)
        expected = Outcome.PREEMPTED
    outcome, reason = outcome_of(event)
    if not uow.inbox.transition(expected, replace(record, outcome=outcome, reason=reason)):
        raise DuplicateOperation(f"order {command.order_id} was settled concurrently")
    uow.outbox.add(event, clock.now())
    return OperationResult(command.order_id, outcome, reason, duplicate=False, event=event)


def _deduct_all_or_nothing(command: DeductInventory, uow: UnitOfWork, clock: Clock) -> OutcomeEvent:
    skus = uow.skus.get_many(line.sku_id for line in command.lines)
    if any(line_refusal(line.sku_id, line.quantity, skus) is not NONE for line in command.lines):
        return refusal(command, skus)
    taken: list[tuple[int, int]] = []
    for line in command.lines:  # ascending SKU id, so concurrent orders never deadlock
        if not uow.skus.try_deduct(line.sku_id, line.quantity):
            for sku_id, quantity in taken:  # lost a race since the read: give back, then refuse
                uow.skus.release(sku_id, quantity)
            return refusal(command, uow.skus.get_many(skus), short=line.sku_id)
        taken.append((line.sku_id, line.quantity))
    now = clock.now()
    uow.ledger.append(
        StockLedgerEntry(sku_id, -quantity, LedgerKind.DEDUCT, now, order_id=command.order_id)
        for sku_id, quantity in taken
    )
    after = uow.skus.get_many(sku_id for sku_id, _ in taken)
    return InventoryDeducted(
        command.order_id,
        tuple(
            DeductedSku(sku_id, quantity, after[sku_id].stock, after[sku_id].warn_threshold)
            for sku_id, quantity in taken
        ),
    )


def refusal(
    command: DeductInventory,
    skus: Mapping[int, Sku],
    reason: FailureReason | None = None,
    short: int | None = None,
) -> InventoryDeductFailed:
    """The failure event; `short` is a SKU whose conditional update found too little stock."""

    def line_reason(sku_id: int, quantity: int) -> FailureReason:
        if reason is not None:
            return reason
        found = line_refusal(sku_id, quantity, skus)
        return FailureReason.INSUFFICIENT_STOCK if found is NONE and sku_id == short else found

    lines = tuple(
        FailedLine(
            line.sku_id,
            line.quantity,
            skus[line.sku_id].stock if line.sku_id in skus else 0,
            line_reason(line.sku_id, line.quantity),
        )
        for line in command.lines
    )
    first_refused = next(line.reason for line in lines if line.reason is not NONE)
    return InventoryDeductFailed(command.order_id, first_refused, lines)


def line_refusal(sku_id: int, quantity: int, skus: Mapping[int, Sku]) -> FailureReason:
    sku = skus.get(sku_id)
    return FailureReason.UNKNOWN_SKU if sku is None else sku.refusal_for(quantity)


def outcome_of(event: OutcomeEvent) -> tuple[Outcome, FailureReason]:
    if isinstance(event, InventoryDeductFailed):
        return Outcome.FAILED, event.reason
    return Outcome.SUCCEEDED, FailureReason.NONE
