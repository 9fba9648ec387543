"""The relay's memory of what this process wrote: all or nothing per batch, bounded."""

from __future__ import annotations

from product_service.infrastructure.outbox_codec import OutboxMessage
from product_service.infrastructure.written_messages import WrittenMessages


def message(n: int) -> OutboxMessage:
    return OutboxMessage(f"event-{n}", "OnInventoryDeductSuccess", str(n), "{}")


def test_finds_the_messages_in_the_order_asked() -> None:
    written = WrittenMessages()
    written.wrote([message(1), message(2), message(3)])
    assert written.find(["event-3", "event-1"]) == [message(3), message(1)]


def test_finds_nothing_unless_every_message_is_known() -> None:
    written = WrittenMessages()
    written.wrote([message(1)])
    assert written.find(["event-1", "event-2"]) is None


def test_forgets_what_was_published_and_keeps_only_the_newest_capacity() -> None:
    written = WrittenMessages(capacity=2)
    written.wrote([message(1), message(2), message(3)])
    assert written.find(["event-1"]) is None  # aged out: the relay reads its row instead
    written.forget(["event-2"])
    assert written.find(["event-2"]) is None
    assert written.find(["event-3"]) == [message(3)]
