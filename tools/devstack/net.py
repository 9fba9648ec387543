"""Loopback ports and readiness polling."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on, chosen below the kernel's ephemeral range: the kernel
    never gives such a port to an outgoing connection, so an app restarted on the same ports
    (as the fault tests do, ten times in a row) finds them still free."""
    low = _ephemeral_range()[0]
    for _ in range(500):
        port = _random.randrange(max(1024, low - 12000), low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port below the ephemeral range (from {low})")


_random = random.SystemRandom()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


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
