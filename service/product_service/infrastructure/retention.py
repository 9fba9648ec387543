"""Retention: deletes published outbox rows, old inbox rows and old dead letters, one replica
at a time.

Every interval, on the one replica holding its lease (like the sweeper's), it deletes, table
by table (db/retention_store.RETAINED), the rows past their retention in transactions of at
most `batch_size` rows, so no statement holds many locks for long. A pass stops within half
the lease's term (a held lease has at least that left); when rows were left the next pass
starts at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from product_service.application.ports import Clock, Lease
from product_service.infrastructure.db.retention_store import Retained, SqlRetentionStore
from product_service.infrastructure.durations import format_duration
from product_service.infrastructure.leased_worker import LeasedWorker
from product_service.infrastructure.metrics import (
    RETENTION_DELETED,
    RETENTION_LAST_RUN,
    RETENTION_OLDEST_KEPT,
)

log = logging.getLogger(__name__)

LEASE = "product-service-retention"


@dataclass(frozen=True)
class Policy:
    retained: Retained
    keep: timedelta


class RetentionJob:
    def __init__(
        self,
        store: SqlRetentionStore,
        lease: Lease,
        clock: Clock,
        policies: Sequence[Policy],
        *,
        interval_seconds: float = 600.0,
        batch_size: int = 500,
        budget_seconds: float = 15.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._policies = list(policies)
        self._batch_size = batch_size
        self._budget = budget_seconds
        self._worker = LeasedWorker("retention", lease, interval_seconds, self.run_once)

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    def run_once(self) -> bool:
        """One pass over every table; True when nothing past retention is left (the pass
        completed), False when it stopped at its time budget or was asked to stop."""
        deadline = time.monotonic() + self._budget
        deleted: dict[str, int] = {}
        complete = True
        for policy in self._policies:
            count, done = self._purge(policy, deadline)
            deleted[policy.retained.name] = count
            if not done:
                complete = False
                break
            self._observe_oldest(policy)
        if complete:
            RETENTION_LAST_RUN.set(self._clock.now().timestamp())
        if any(deleted.values()):
            log.info("retention deleted %s", self._summary(deleted))
        return complete

    def _purge(self, policy: Policy, deadline: float) -> tuple[int, bool]:
        """Deletes in batches until none is due (True) or the budget is spent (False)."""
        cutoff = self._clock.now() - policy.keep
        total = 0
        while True:
            count = self._store.delete_batch(policy.retained, cutoff, self._batch_size)
            total += count
            RETENTION_DELETED.labels(policy.retained.name).inc(count)
            if count < self._batch_size:
                return total, True
            if time.monotonic() >= deadline or self._worker.stopping:
                return total, False

    def _observe_oldest(self, policy: Policy) -> None:
        oldest = self._store.oldest(policy.retained)
        age = (self._clock.now() - oldest).total_seconds() if oldest else 0.0
        RETENTION_OLDEST_KEPT.labels(policy.retained.name).set(max(age, 0.0))

    def _summary(self, deleted: dict[str, int]) -> str:
        keep = {p.retained.name: format_duration(p.keep) for p in self._policies}
        return ", ".join(
            f"{count} {name} row(s) older than {keep[name]}"
            for name, count in deleted.items()
            if count
        )
