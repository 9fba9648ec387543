"""The outbox relay: publishes each committed outcome event right after its commit.

Rows are published in commit order and stay in the outbox until the sidecar accepted them; when
the sidecar or the database is unreachable the relay backs off and tries the same row again, so
per-order order holds and nothing is lost. A crash between commit and publish leaves the row for
the sweeper (see sweeper.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from product_service.application.errors import TransientError
from product_service.application.ports import Clock, OutboxNotifier
from product_service.domain.events import OutcomeEvent
from product_service.infrastructure.dapr.publisher import PublishFailed
from product_service.infrastructure.db.outbox_store import SqlOutboxStore
from product_service.infrastructure.metrics import PUBLISH_FAILURES, PUBLISHED
from product_service.infrastructure.outbox_codec import OutboxMessage
from product_service.infrastructure.telemetry import untraced_statements
from product_service.infrastructure.written_messages import WrittenMessages

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, message: OutboxMessage) -> None: ...

    def publish_batch(self, messages: Sequence[OutboxMessage]) -> set[str]:
        """Publishes messages of one topic in one call; returns the refused event ids."""
        ...


def publish_in_order(
    store: SqlOutboxStore,
    publisher: Publisher,
    messages: Sequence[OutboxMessage],
    clock: Clock,
    path: str = "relay",
    bulk: bool = True,
) -> tuple[list[str], PublishFailed | None]:
    """Publishes until the first failure (later rows of the same order must wait behind it).

    With `bulk`, each run of consecutive messages on one topic goes out in one call. A run
    holds at most one event per order (an order has one outcome per operation, and each
    operation's events have their own topics), so a partial failure reorders nothing."""
    published: list[str] = []
    failure: PublishFailed | None = None
    runs = _runs_by_topic(messages) if bulk else [[message] for message in messages]
    for run in runs:
        try:
            refused = (
                publisher.publish_batch(run) if len(run) > 1 else _publish_one(publisher, run[0])
            )
        except PublishFailed as exc:
            failure, refused = exc, {message.event_id for message in run}
        published += [m.event_id for m in run if m.event_id not in refused]
        if refused:
            failure = failure or PublishFailed(f"the sidecar refused {len(refused)} of {len(run)}")
            PUBLISH_FAILURES.labels(path).inc(len(refused))
            store.count_failed_attempts(refused)
            break
    store.mark_published(published, clock.now())
    PUBLISHED.labels(path).inc(len(published))
    return published, failure


def _publish_one(publisher: Publisher, message: OutboxMessage) -> set[str]:
    publisher.publish(message)
    return set()


def _runs_by_topic(messages: Sequence[OutboxMessage]) -> list[list[OutboxMessage]]:
    """Consecutive messages of one topic and one kind: a bulk publish is raw (legacy records)
    or CloudEvents as a whole (Dapr reads rawPayload from the request, not the entry)."""
    runs: list[list[OutboxMessage]] = []
    for message in messages:
        if runs and (runs[-1][0].topic, runs[-1][0].raw) == (message.topic, message.raw):
            runs[-1].append(message)
        else:
            runs.append([message])
    return runs


class Backoff:
    def __init__(self, maximum: float, first: float = 0.05) -> None:
        self._first = first
        self._maximum = maximum
        self.delay = 0.0

    def failed(self) -> float:
        self.delay = min(self._maximum, max(self._first, self.delay * 2))
        return self.delay

    def succeeded(self) -> None:
        self.delay = 0.0


class OutboxRelay(OutboxNotifier):
    def __init__(
        self,
        store: SqlOutboxStore,
        publisher: Publisher,
        clock: Clock,
        *,
        written: WrittenMessages | None = None,
        batch_size: int = 100,
        bulk: bool = True,
        max_backoff_seconds: float = 5.0,
        publish_delay_seconds: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._clock = clock
        self._written = written or WrittenMessages(capacity=0)
        self._batch_size = batch_size
        self._bulk = bulk
        self._backoff = Backoff(max_backoff_seconds)
        self._delay = publish_delay_seconds
        self._monotonic = monotonic
        self._queue: deque[tuple[str, float]] = deque()  # (event id, publish not before)
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._retry_at = 0.0  # monotonic time before which a failed publish is not retried
        self._seeded = False
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def committed(self, event: OutcomeEvent) -> None:
        with self._guard:
            self._queue.append((event.event_id, self._monotonic() + self._delay))
        self._wake.set()

    def in_flight(self) -> set[str]:
        with self._guard:
            return {event_id for event_id, _ in self._queue}

    def start(self) -> None:
        self._thread.start()

    def flush(self, timeout: float) -> bool:
        """Waits until every event committed so far is published, those an earlier process
        left included (queued by the first pass); False on timeout."""
        deadline = self._monotonic() + timeout
        while not self._seeded or self.in_flight():
            if self._monotonic() >= deadline or not self._thread.is_alive():
                return False
            self._wake.set()
            time.sleep(0.02)
        return True

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=10)

    def _run(self) -> None:
        with untraced_statements():
            self._loop()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                wait = self._relay_once()
            except Exception:  # the relay must outlive any single failure; rows stay queued
                log.exception("outbox relay pass failed")
                wait = self._failed()
            self._wake.wait(timeout=wait)
            self._wake.clear()

    def _relay_once(self) -> float:
        """Publishes the ready head of the queue; returns how long to wait before the next try."""
        if (backing_off := self._retry_at - self._monotonic()) > 0:
            return backing_off  # wake-ups (new commits, flush) do not cut a backoff short
        try:
            self._seed_once()
            ready, wait = self._ready_batch()
            if not ready:
                return wait
            pending = self._pending(ready)
            published, failure = publish_in_order(
                self._store, self._publisher, pending, self._clock, bulk=self._bulk
            )
        except TransientError as exc:
            log.warning("outbox relay: database unavailable, retrying: %s", exc)
            return self._failed()
        if failure is None:
            done = set(ready)  # published now, or already published by the sweeper
        else:
            done = set(published)
        with self._guard:
            self._queue = deque(item for item in self._queue if item[0] not in done)
        self._written.forget(done)
        if failure is not None:
            delay = self._failed()
            log.warning("outbox relay: publish failed, retrying in %.2fs: %s", delay, failure)
            return delay
        self._backoff.succeeded()
        return 0.0 if self.in_flight() else 1.0

    def _pending(self, ready: list[str]) -> list[OutboxMessage]:
        """What to publish for the ready events, in order: as this process wrote them when it
        has them all and no other event of their orders waits in the outbox (one query that
        reads no payload); else their rows and every older unpublished row of their orders."""
        written = self._written.find(ready)
        if written is not None and not self._store.others_unpublished_of_same_orders(written):
            return written
        return self._store.unpublished_of_same_orders(ready)

    def _failed(self) -> float:
        delay = self._backoff.failed()
        self._retry_at = self._monotonic() + delay
        return delay

    def _seed_once(self) -> None:
        """At start, queue what an earlier process committed but did not publish."""
        if self._seeded:
            return
        left = self._store.older_than(self._clock.now(), limit=100_000)
        now = self._monotonic()
        with self._guard:
            queued = {event_id for event_id, _ in self._queue}
            earlier = [(m.event_id, now) for m in left if m.event_id not in queued]
            self._queue = deque([*earlier, *self._queue])
        self._seeded = True
        if earlier:
            log.info("outbox relay: %d event(s) left unpublished before start", len(earlier))

    def _ready_batch(self) -> tuple[list[str], float]:
        now = self._monotonic()
        with self._guard:
            ready = [eid for eid, not_before in self._queue if not_before <= now]
            head_wait = self._queue[0][1] - now if self._queue else 1.0
        if ready:
            return ready[: self._batch_size], 0.0
        return [], max(0.0, min(head_wait, 1.0))
