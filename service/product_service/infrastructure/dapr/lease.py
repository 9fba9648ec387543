"""A lease on the Dapr lock API: one replica holds it for a term of the lock's expiry.

The Dapr lock cannot be extended, so the holder renews by giving the lock back and taking it
again once half its term is gone; between the two a rival may win, and the lease moves, which
is harmless. A holder that dies stops renewing: its lock expires in the store and the first
replica to ask afterwards holds the lease, at most one term after the death. The holder
counts its term from before its request, so it stops believing in its lease before the
store lets anyone else have it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from product_service.application.ports import Lease
from product_service.infrastructure.dapr.lock import DaprLock
from product_service.infrastructure.metrics import LEASE_HELD


class DaprLease(Lease):
    def __init__(
        self,
        lock: DaprLock,
        resource: str,
        name: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = lock
        self._resource = resource
        self._name = name  # the metric's label
        self._owner = f"{lock.owner}-{uuid.uuid4().hex}"  # this replica, while it lives
        self._term = float(lock.expiry_seconds)
        self._monotonic = monotonic
        self._until = 0.0  # when this replica's term ends (monotonic); 0: not held
        self._guard = threading.Lock()
        LEASE_HELD.labels(name).set(0)

    def held(self) -> bool:
        """True while ours (renewed past half its term); a lock store that cannot answer
        lets the job run without the lease, as the per-order locks do (counted by DaprLock)."""
        with self._guard:
            now = self._monotonic()
            if now < self._until - self._term / 2:
                return True
            if now < self._until:  # ours, half gone: give it back and take it again
                self._lock.unlock(self._resource, self._owner)
            acquired = self._lock.try_lock(self._resource, self._owner)
            self._until = now + self._term if acquired else 0.0
            LEASE_HELD.labels(self._name).set(1 if acquired else 0)
            return acquired is not False

    def release(self) -> None:
        with self._guard:
            if self._until > self._monotonic():
                self._lock.unlock(self._resource, self._owner)
            self._until = 0.0
            LEASE_HELD.labels(self._name).set(0)
