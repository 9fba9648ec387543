"""A background thread that does its work on one replica at a time: the one holding a lease.

The lease (infrastructure/dapr/lease.py) stays with a live holder and expires by itself, so a
replica that dies frees it for another within one term. Used by the outbox sweeper and by
retention.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from product_service.application.errors import TransientError
from product_service.application.ports import Lease
from product_service.infrastructure.telemetry import untraced_statements

log = logging.getLogger(__name__)


class LeasedWorker:
    """Every `interval_seconds`, while this replica holds `lease`, runs `one_pass`; a pass that
    returns False left work due, and the next one starts at once."""

    def __init__(
        self,
        name: str,
        lease: Lease,
        interval_seconds: float,
        one_pass: Callable[[], bool],
    ) -> None:
        self._name = name
        self._lease = lease
        self._interval = interval_seconds
        self._one_pass = one_pass
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ends the thread after its pass and gives the lease back: a successor need not wait
        for the term to end (a rolling restart)."""
        self._stopping.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=10)
            self._lease.release()

    def _run(self) -> None:
        # Background SQL has no parent span; one trace per statement would only be noise.
        with untraced_statements():
            pause = self._interval
            while not self._stopping.wait(pause):
                pause = 0.0 if self._pass_left_work() else self._interval

    def _pass_left_work(self) -> bool:
        try:
            if not self._lease.held():
                log.debug("%s: another replica holds the lease", self._name)
                return False
            return not self._one_pass()
        except TransientError as exc:
            log.warning("%s: database unavailable: %s", self._name, exc)
        except Exception:  # the worker must outlive any single bad pass
            log.exception("%s pass failed", self._name)
        return False
