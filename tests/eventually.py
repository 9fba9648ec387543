"""Waiting for eventually-consistent state (traces, metrics, topics, logs, rows a background
thread writes): the check is the assertion itself, polled until it holds or a deadline passes.

A test that waits for one thing and then asserts another races whatever writes the second;
`eventually(check)` waits for exactly what `check` asserts, and on the deadline fails with the
check's own last message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float, interval: float = 0.2) -> T:
    """Calls `check` until it returns without an AssertionError; returns what it returned.

    After `timeout` seconds the last AssertionError is raised, with the time waited added."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError as failure:
            if time.monotonic() >= deadline:
                raise AssertionError(f"still failing after {timeout:g}s: {failure}") from failure
        time.sleep(interval)
