"""A child process with its own log file, and an app that runs beside a daprd sidecar."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.errors import with_logs
from devstack.net import wait_until

if TYPE_CHECKING:
    from devstack.sidecar import Sidecar

STOP_TIMEOUT = 45.0  # above the app's shutdown grace (20 s) plus its outbox flush
START_TIMEOUT = 60.0


class Process:
    """One child process; its stdout and stderr go to `log_path`, appended across restarts."""

    def __init__(self, name: str, log_path: Path, cwd: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def exit_reason(self) -> str | None:
        """Why waiting for this process is pointless (it exited), or None while it runs."""
        if self._popen is None or self._popen.poll() is None:
            return None
        return f"{self.name} exited with code {self._popen.returncode}"

    def _spawn(self, cmd: Sequence[str], env: Mapping[str, str]) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
            log.write(f"=== devstack {stamp} start: {' '.join(cmd)}\n".encode())
            log.flush()
            # Own session: a Ctrl-C meant for the launcher does not reach the children, which
            # are then stopped in order (app before sidecar).
            self._popen = subprocess.Popen(
                list(cmd),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.cwd,
                env=dict(env),
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL, no grace."""
        if self._popen is not None and self._popen.poll() is None:
            self._popen.kill()
            self._popen.wait(timeout=STOP_TIMEOUT)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL; the exit code (None if never started)."""
        if self._popen is None:
            return None
        if self._popen.poll() is None:
            self._popen.send_signal(signal.SIGTERM)
            try:
                self._popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait(timeout=STOP_TIMEOUT)
        return self._popen.returncode


class App(Process):
    """An app process and its sidecar; the sidecar is started first if it is not running."""

    def __init__(
        self,
        name: str,
        cmd: Sequence[str],
        env: Mapping[str, str],
        sidecar: Sidecar,
        log_path: Path,
        cwd: Path,
        ready: Callable[[], str | None],
        http_port: int | None = None,
    ) -> None:
        super().__init__(name, log_path, cwd)
        self.cmd = list(cmd)
        self.env = dict(env)
        self.sidecar = sidecar
        self.app_port = sidecar.app_port
        self.http_port = http_port
        self.http_token: str | None = None  # the product service's PRODUCT_HTTP_TOKEN
        self._ready = ready

    def start(self, env: Mapping[str, str] | None = None, timeout: float = START_TIMEOUT) -> None:
        """(Re)start the app on the same ports and wait until it and its sidecar are ready.

        `env` is merged over the app's environment and kept for later restarts.
        """
        self.env.update(env or {})
        if not self.sidecar.running:
            self.sidecar.start(wait=False)
        t0 = time.monotonic()
        self._spawn(self.cmd, {**os.environ, **self.env})
        reason = wait_until(self._ready_check, timeout, alive=self._alive)
        if reason is not None:
            raise with_logs(
                f"{self.name} not ready after {time.monotonic() - t0:.1f}s: {reason}",
                self.log_path,
                self.sidecar.log_path,
            )

    def operator_headers(self) -> dict[str, str]:
        """What a caller of the app's HTTP operator views sends (none for the probes)."""
        return {"Authorization": f"Bearer {self.http_token}"} if self.http_token else {}

    def _alive(self) -> str | None:
        return self.exit_reason() or self.sidecar.exit_reason()

    def _ready_check(self) -> str | None:
        return self.sidecar.health() or self._ready()
