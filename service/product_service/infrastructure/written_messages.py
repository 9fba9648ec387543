"""Outbox messages as this process wrote them, kept for the relay: it publishes a committed event
from here instead of reading its row back (the row still decides whether it is published, and
the database still says whether an older event of the same order must go first)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from product_service.infrastructure.outbox_codec import OutboxMessage


class WrittenMessages:
    """The last `capacity` messages written, by event id. A message whose transaction rolled
    back is never asked for and ages out; one that aged out before its commit was told is read
    from the outbox as before."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._messages: OrderedDict[str, OutboxMessage] = OrderedDict()
        self._guard = threading.Lock()

    def wrote(self, messages: Iterable[OutboxMessage]) -> None:
        with self._guard:
            for message in messages:
                self._messages[message.event_id] = message
            while len(self._messages) > self._capacity:
                self._messages.popitem(last=False)

    def find(self, event_ids: Sequence[str]) -> list[OutboxMessage] | None:
        """The messages of `event_ids`, in that order; None unless every one is here."""
        found: list[OutboxMessage] = []
        with self._guard:
            for event_id in event_ids:
                message = self._messages.get(event_id)
                if message is None:
                    return None
                found.append(message)
        return found

    def forget(self, event_ids: Iterable[str]) -> None:
        with self._guard:
            for event_id in event_ids:
                self._messages.pop(event_id, None)
