"""The outbox sweeper: republishes rows a crash left unpublished, one replica at a time.

Every interval, on the one replica holding its lease (infrastructure/dapr/lease.py), it
publishes, oldest first, the unpublished rows older than a minimum age that this
process's relay is not already handling. A row published twice keeps its event id, so consumers
see a duplicate of the same event, never a second event.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from product_service.application.ports import Clock, Lease
from product_service.infrastructure.db.outbox_store import SqlOutboxStore
from product_service.infrastructure.leased_worker import LeasedWorker
from product_service.infrastructure.metrics import SWEEPER_REPUBLISHED
from product_service.infrastructure.relay import OutboxRelay, Publisher, publish_in_order

log = logging.getLogger(__name__)

LEASE = "product-service-outbox-sweeper"


class OutboxSweeper:
    def __init__(
        self,
        store: SqlOutboxStore,
        publisher: Publisher,
        lease: Lease,
        relay: OutboxRelay,
        clock: Clock,
        *,
        interval_seconds: float = 5.0,
        min_age_seconds: float = 5.0,
        batch_size: int = 100,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._relay = relay
        self._clock = clock
        self._min_age = timedelta(seconds=min_age_seconds)
        self._batch_size = batch_size
        self._worker = LeasedWorker("outbox-sweeper", lease, interval_seconds, self._pass)

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    def _pass(self) -> bool:
        self.sweep_once()
        return True  # what is left (a failed publish) waits for the next interval

    def sweep_once(self) -> int:
        """Publishes what is due, until the first failure; returns how many it published."""
        cutoff = self._clock.now() - self._min_age
        in_flight = self._relay.in_flight()
        due = [
            message
            for message in self._store.older_than(cutoff, self._batch_size)
            if message.event_id not in in_flight
        ]
        if not due:
            return 0
        published, failure = publish_in_order(
            self._store, self._publisher, due, self._clock, path="sweeper"
        )
        SWEEPER_REPUBLISHED.inc(len(published))
        log.info("outbox sweeper republished %d left-behind event(s)", len(published))
        if failure is not None:
            log.warning("outbox sweeper: publish failed, next pass retries: %s", failure)
        return len(published)
