"""Per-order locks and the sweeper lease through the Dapr lock API (Redis in the full profile).

The lock is defence in depth: when the lock store is missing or down the work proceeds, because
the database's unique inbox key and conditional updates keep it correct; we count and warn.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from grpc import RpcError

from product_service.application.errors import LockHeld
from product_service.application.ports import DistributedLock
from product_service.infrastructure.dapr import sdk_gaps
from product_service.infrastructure.dapr.sidecar import Sidecar
from product_service.infrastructure.metrics import LOCKS

log = logging.getLogger(__name__)

CONCURRENT_CALLS = 8  # lock calls in flight at once for one bulk delivery


class DaprLock(DistributedLock):
    def __init__(
        self,
        sidecar: Sidecar,
        store_name: str,
        owner: str,
        expiry_seconds: int,
        wait_seconds: float = 0.0,
        kind: str = "order",
    ) -> None:
        self._sidecar = sidecar
        self._store = store_name
        self._owner = owner
        self._expiry = expiry_seconds
        self._wait = wait_seconds
        self._kind = kind  # the metrics label: per-order locks or a lease (DaprLease)
        self._unavailable_guard = threading.Lock()
        self._unavailable = 0  # only to warn on the first and every 100th time
        self._calls = ThreadPoolExecutor(CONCURRENT_CALLS, thread_name_prefix=f"lock-{kind}")
        sdk_gaps.quiet_lock_alpha_warning()

    @contextmanager
    def hold(self, resource: str) -> Iterator[None]:
        # One owner per hold: two threads of this process must not share a lock either.
        owner = f"{self._owner}-{uuid.uuid4().hex}"
        acquired = self._acquire(resource, owner)
        if acquired is False:
            raise LockHeld(f"{resource} is locked by another worker; retry later")
        try:
            yield
        finally:
            if acquired:
                self.unlock(resource, owner)

    @contextmanager
    def hold_many(self, resources: Sequence[str]) -> Iterator[dict[str, LockHeld]]:
        """A bulk delivery's order locks, asked for side by side on the sidecar channel: the
        round trips overlap instead of adding up."""
        owner = f"{self._owner}-{uuid.uuid4().hex}"  # one owner for the batch's holds
        answers = list(self._calls.map(lambda resource: self._acquire(resource, owner), resources))
        refused = {
            resource: LockHeld(f"{resource} is locked by another worker; retry later")
            for resource, acquired in zip(resources, answers, strict=True)
            if acquired is False
        }
        try:
            yield refused
        finally:
            held = [r for r, acquired in zip(resources, answers, strict=True) if acquired]
            list(self._calls.map(lambda resource: self.unlock(resource, owner), held))

    def _acquire(self, resource: str, owner: str) -> bool | None:
        """Tries again for up to `wait_seconds`: a short wait is cheaper than a redelivery."""
        deadline = time.monotonic() + self._wait
        pause = 0.01
        while True:
            acquired = self.try_lock(resource, owner)
            if acquired is not False or time.monotonic() + pause > deadline:
                return acquired
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def try_lock(self, resource: str, owner: str) -> bool | None:
        """True: ours. False: someone else's. None: the lock store could not answer."""
        try:
            client = self._sidecar.client
            acquired = sdk_gaps.try_lock(client, self._store, resource, owner, self._expiry)
        except (RpcError, OSError, TimeoutError) as exc:
            self._count_unavailable(resource, exc)
            return None
        LOCKS.labels(self._kind, "acquired" if acquired else "refused").inc()
        return acquired

    def unlock(self, resource: str, owner: str) -> None:
        try:
            sdk_gaps.unlock(self._sidecar.client, self._store, resource, owner)
        except (RpcError, OSError, TimeoutError) as exc:
            # The lease expires by itself; the work is already committed.
            log.warning(
                "could not release lock %s (it expires in %ss): %s", resource, self._expiry, exc
            )

    @property
    def owner(self) -> str:
        return self._owner

    @property
    def expiry_seconds(self) -> int:
        return self._expiry

    def _count_unavailable(self, resource: str, exc: BaseException) -> None:
        LOCKS.labels(self._kind, "store_unavailable").inc()
        with self._unavailable_guard:
            self._unavailable += 1
            count = self._unavailable
        if count == 1 or count % 100 == 0:
            log.warning(
                "lock store %r unavailable (%d times so far); proceeding without the lock on %s,"
                " the database keeps the operation correct: %s",
                self._store,
                count,
                resource,
                exc,
            )
