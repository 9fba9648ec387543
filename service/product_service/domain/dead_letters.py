"""Dead letters: messages the sidecar gave up on, as the service recorded them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Why a message was dead-lettered when its payload was fine: the deliveries were answered
# RETRY (database or lock store down) until the sidecar's retries ran out.
RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED"


@dataclass(frozen=True)
class DeadLetterSeen:
    """One delivery from a dead-letter topic."""

    topic: str  # the dead-letter topic
    original_topic: str
    event_id: str  # the CloudEvent id, the same as the original message's
    order_id: int | None  # when the payload names one
    reason: str  # the code the service refused it with, or RETRIES_EXHAUSTED
    detail: str
    payload: bytes  # the original data, complete
    content_type: str


@dataclass(frozen=True)
class DeadLetter:
    id: int
    topic: str
    original_topic: str
    event_id: str
    order_id: int | None
    reason: str
    detail: str
    payload: bytes  # at most the stored limit: see `truncated`
    payload_size: int  # of the original data
    content_type: str
    first_seen_at: datetime
    last_seen_at: datetime
    times_seen: int
    discarded_at: datetime | None = None

    @property
    def truncated(self) -> bool:
        return len(self.payload) < self.payload_size


@dataclass(frozen=True)
class DeadLetterFilter:
    topic: str | None = None  # the original topic
    reason: str | None = None
    since: datetime | None = None  # first seen at or after
    until: datetime | None = None  # first seen before
    include_discarded: bool = False
    after_id: int = 0  # paging: the last id of the previous page
    limit: int = 100
