"""Dead letters an operator can see, replay and discard.

The service records each message its sidecar dead-letters once (by topic and CloudEvent id),
counting how often it came back. A replay puts the original payload back on its original topic
through the outbox, under the original CloudEvent id: an order already decided changes nothing
(the inbox), and a message that is still poison is dead-lettered again and counted again.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from product_service.application.ports import Clock
from product_service.domain.dead_letters import DeadLetter, DeadLetterFilter, DeadLetterSeen
from product_service.domain.errors import UnknownDeadLetter


class DeadLetterStore(abc.ABC):
    @abc.abstractmethod
    def record(self, seen: DeadLetterSeen, at: datetime) -> tuple[DeadLetter, bool]:
        """Adds the dead letter, or counts it seen again; True when it was new."""

    @abc.abstractmethod
    def find(self, which: DeadLetterFilter) -> list[DeadLetter]:
        """Oldest first, at most `which.limit`, ids above `which.after_id`."""

    @abc.abstractmethod
    def get_many(self, ids: Sequence[int]) -> dict[int, DeadLetter]: ...

    @abc.abstractmethod
    def replay(
        self, letters: Sequence[DeadLetter], request_id: str, by: str, at: datetime
    ) -> list[int]:
        """In one transaction: each letter not replayed by this request yet goes into the
        outbox for its original topic, and the replay is recorded; returns their ids."""

    @abc.abstractmethod
    def discard(self, ids: Sequence[int], at: datetime) -> list[int]:
        """Marks the letters discarded (kept, no longer listed or replayed); returns them."""

    @abc.abstractmethod
    def replays_by_topic(self) -> dict[str, int]:
        """Replays recorded so far (every request counted), by original topic."""


@dataclass(frozen=True)
class ReplayReport:
    request_id: str
    replayed: list[int] = field(default_factory=list)
    already_replayed: list[int] = field(default_factory=list)  # by this same request
    refused: dict[int, str] = field(default_factory=dict)  # id -> why


@dataclass
class DeadLetters:
    store: DeadLetterStore
    clock: Clock

    def record(self, seen: DeadLetterSeen) -> tuple[DeadLetter, bool]:
        return self.store.record(seen, self.clock.now())

    def find(self, which: DeadLetterFilter) -> list[DeadLetter]:
        return self.store.find(which)

    def get(self, dead_letter_id: int) -> DeadLetter:
        found = self.store.get_many([dead_letter_id]).get(dead_letter_id)
        if found is None:
            raise UnknownDeadLetter(f"no dead letter {dead_letter_id}")
        return found

    def replay(self, ids: Sequence[int], request_id: str, by: str) -> ReplayReport:
        """Replays the given letters; the same request id twice replays nothing twice."""
        letters = self.store.get_many(ids)
        report = ReplayReport(request_id)
        for missing in (i for i in ids if i not in letters):
            report.refused[missing] = "no such dead letter"
        replayable = []
        for letter in letters.values():
            why = _not_replayable(letter)
            if why:
                report.refused[letter.id] = why
            else:
                replayable.append(letter)
        done = self.store.replay(replayable, request_id, by, self.clock.now())
        report.replayed.extend(done)
        report.already_replayed.extend(i.id for i in replayable if i.id not in done)
        return report

    def discard(self, ids: Sequence[int]) -> list[int]:
        return self.store.discard(ids, self.clock.now())


def _not_replayable(letter: DeadLetter) -> str | None:
    if letter.discarded_at is not None:
        return "discarded"
    if letter.truncated:
        return f"only {len(letter.payload)} of its {letter.payload_size} bytes were kept"
    try:
        letter.payload.decode()
    except UnicodeDecodeError:
        return "its payload is not text; replay it by hand"
    return None
