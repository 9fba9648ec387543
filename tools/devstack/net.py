"""Loopback ports and readiness polling."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        return httpx.get(url, timeout=timeout).status_code
    except httpx.HTTPError:
        return None


def wait_until(
    check: Callable[[], str | None],
    timeout: float,
    interval: float = 0.2,
    alive: Callable[[], str | None] = lambda: None,
) -> str | None:
    """Poll `check` (None = done, else what is still missing) until done or timeout.

    `alive` returns a reason when waiting is pointless (a process died). Returns None when
    ready, else the last reason.
    """
    deadline = time.monotonic() + timeout
    reason: str | None = "not checked"
    while time.monotonic() < deadline:
        dead = alive()
        if dead is not None:
            return dead
        reason = check()
        if reason is None:
            return None
        time.sleep(interval)
    return reason
