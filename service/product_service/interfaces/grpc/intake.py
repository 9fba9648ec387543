"""Counts work in progress on the app channel so that shutdown can refuse new work and wait for
the rest: deliveries (answered RETRY while closing) and API calls (answered UNAVAILABLE)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Intake:
    """Counts deliveries in progress so that shutdown can stop new ones and wait for the rest."""

    def __init__(self) -> None:
        self._open = True
        self._in_flight = 0
        self._changed = threading.Condition()

    @contextmanager
    def admit(self) -> Iterator[bool]:
        with self._changed:
            admitted = self._open
            self._in_flight += admitted
        try:
            yield admitted
        finally:
            with self._changed:
                self._in_flight -= admitted
                self._changed.notify_all()

    @property
    def is_open(self) -> bool:
        """False once shutdown began: work that waits should give up and answer RETRY."""
        with self._changed:
            return self._open

    def close_and_drain(self, timeout: float) -> bool:
        with self._changed:
            self._open = False
            return self._changed.wait_for(lambda: self._in_flight == 0, timeout=timeout)
