"""The measured processes: found by pid or listening port, their CPU seconds and RSS, and the
app's outbox backlog, sampled in the background while a run goes on."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.full_path.config import HOST, INFRA_PID_FILES, INFRA_PORTS, ROOT


def listener_pid(port: int) -> int | None:
    """The pid listening on 127.0.0.1:port (needs the right to see other processes' sockets)."""
    import psutil

    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid:
                    return int(conn.pid)
    except psutil.Error:
        pass
    return None


def infra_pid(name: str) -> int | None:
    pid = listener_pid(INFRA_PORTS[name])
    if pid is not None:
        return pid
    state = Path(os.environ.get("INFRA_STATE", ROOT / ".local" / "infra"))
    try:
        return int((state / INFRA_PID_FILES[name]).read_text().strip())
    except (OSError, ValueError):
        return None


class Processes:
    """CPU seconds (user + system, with child processes) and RSS of the measured processes; a
    name may stand for several processes (the replicas' apps, their daprds), summed."""

    def __init__(self, pids: Mapping[str, int | Sequence[int] | None]) -> None:
        import psutil

        self._psutil = psutil
        self.pids: dict[str, list[int]] = {name: _pid_list(pid) for name, pid in pids.items()}
        self.procs: dict[str, list[Any]] = {}
        for name, listed in self.pids.items():
            self.procs[name] = []
            for pid in listed:
                try:
                    self.procs[name].append(psutil.Process(pid))
                except psutil.Error:
                    pass

    def missing(self) -> list[str]:
        return [name for name, listed in self.pids.items() if not listed]

    def _family(self, name: str) -> list[Any]:
        """The processes, and for the apps their children (the bench's own children are the
        apps and daprds, measured on their own)."""
        procs = self.procs.get(name, [])
        if name != "app":
            return list(procs)
        family: list[Any] = []
        for proc in procs:
            try:
                family += [proc, *proc.children(recursive=True)]
            except self._psutil.Error:
                family.append(proc)
        return family

    def cpu(self) -> dict[str, float | None]:
        totals: dict[str, float | None] = {}
        for name in self.pids:
            family = self._family(name)
            total: float | None = None
            for proc in family:
                try:
                    times = proc.cpu_times()
                except self._psutil.Error:
                    continue
                total = (total or 0.0) + times.user + times.system
            totals[name] = total
        return totals

    def rss(self, name: str) -> int | None:
        total: int | None = None
        for proc in self._family(name):
            try:
                total = (total or 0) + int(proc.memory_info().rss)
            except self._psutil.Error:
                continue
        return total

    def machine(self) -> tuple[float, float]:
        """(busy, total) CPU seconds of the whole machine since boot."""
        times = self._psutil.cpu_times()
        total = float(sum(times))
        idle = times.idle + getattr(times, "iowait", 0.0)
        return total - idle, total


def _pid_list(pid: int | Sequence[int] | None) -> list[int]:
    if pid is None:
        return []
    return [pid] if isinstance(pid, int) else [p for p in pid if p]


class Monitor:
    """Background sampling: RSS of the app and its daprd every 0.5 s, the app's GET /outbox
    every 1 s (each in its own thread, so a slow app does not slow the sampling or the load)."""

    def __init__(
        self, processes: Processes, http_port: int, headers: dict[str, str] | None = None
    ) -> None:
        self.processes = processes
        self.url = f"http://{HOST}:{http_port}/outbox"
        self.headers = headers or {}  # the operator token: /outbox is an operator view
        self.rss: list[tuple[float, int | None, int | None]] = []
        self.outbox: list[tuple[float, int | None, float | None]] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._sample_rss, name="rss", daemon=True),
            threading.Thread(target=self._poll_outbox, name="outbox", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _sample_rss(self) -> None:
        while not self._stop.wait(0.5):
            now = time.monotonic()
            self.rss.append((now, self.processes.rss("app"), self.processes.rss("daprd")))

    def _poll_outbox(self) -> None:
        import httpx

        with httpx.Client(timeout=5, headers=self.headers) as client:
            while not self._stop.wait(1.0):
                backlog: int | None = None
                age: float | None = None
                try:
                    response = client.get(self.url)
                    if response.status_code == 200:
                        body = response.json()
                        backlog = int(body["backlog"])
                        age = body.get("oldest_age_seconds")
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                self.outbox.append((time.monotonic(), backlog, age))

    def latest_backlog(self) -> int | None:
        return self.outbox[-1][1] if self.outbox else None

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=6)
