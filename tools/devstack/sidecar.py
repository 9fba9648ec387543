"""A daprd sidecar in self-hosted mode without control plane, on free loopback ports."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from devstack.errors import DevstackError, with_logs
from devstack.net import HOST, free_port, http_status, wait_until
from devstack.process import START_TIMEOUT, Process

REPO_ROOT = Path(__file__).resolve().parents[2]


def find_daprd() -> str:
    """The daprd to use: $DAPRD, else what `scripts/infra daprd-path` prints, else PATH."""
    explicit = os.environ.get("DAPRD")
    if explicit:
        return explicit
    infra = REPO_ROOT / "scripts" / "infra"
    if infra.exists():
        out = subprocess.run(
            [str(infra), "daprd-path"], capture_output=True, text=True, timeout=60, check=False
        )
        path = out.stdout.strip()
        if out.returncode == 0 and path and os.access(path, os.X_OK):
            return path
    found = shutil.which("daprd")
    if found:
        return found
    raise DevstackError("no daprd found: run `scripts/infra up daprd` to build one")


class Sidecar(Process):
    def __init__(
        self,
        app_id: str,
        daprd: str,
        resources_path: Path | Sequence[Path],
        config_path: Path,
        run_dir: Path,
        app_port: int | None = None,
        app_protocol: str = "grpc",
        log_level: str = "info",
        replica: str | None = None,
    ) -> None:
        # Replicas share the app id; each has its own name for its process and log.
        name = replica or app_id
        super().__init__(f"daprd {name}", run_dir / f"{name}.daprd.log", run_dir)
        self.app_id = app_id
        self.replica = name
        self.daprd = daprd
        self.resources_paths = (
            [resources_path] if isinstance(resources_path, Path) else list(resources_path)
        )
        self.config_path = config_path
        self.app_port = app_port if app_port is not None else free_port()
        self.app_protocol = app_protocol
        self.log_level = log_level
        self.http_port, self.grpc_port, self.internal_grpc_port, self.metrics_port = (
            free_port() for _ in range(4)
        )
        self.started_seconds: float | None = None  # how long the last start took to be healthy
        # Per sidecar: its API only answers callers with api_token (DAPR_API_TOKEN), and it
        # sends app_token (APP_API_TOKEN) to its app, which refuses calls without it.
        self.api_token = secrets.token_urlsafe(24)
        self.app_token = secrets.token_urlsafe(24)

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def command(self) -> Sequence[str]:
        return [
            self.daprd,
            "--app-id", self.app_id,
            "--mode", "standalone",
            "--app-port", str(self.app_port),
            "--app-protocol", self.app_protocol,
            "--app-channel-address", HOST,
            "--dapr-listen-addresses", HOST,
            "--dapr-http-port", str(self.http_port),
            "--dapr-grpc-port", str(self.grpc_port),
            "--dapr-internal-grpc-port", str(self.internal_grpc_port),
            "--metrics-port", str(self.metrics_port),
            *(arg for path in self.resources_paths for arg in ("--resources-path", str(path))),
            "--config", str(self.config_path),
            # No control plane: no placement (actors) and no scheduler (both empty by default).
            "--placement-host-address", "",
            "--log-level", self.log_level,
        ]  # fmt: skip

    def start(self, wait: bool = True, timeout: float = START_TIMEOUT) -> None:
        """Start daprd; with `wait`, until /v1.0/healthz answers 204 (needs the app up)."""
        t0 = time.monotonic()
        # The address daprd registers in name resolution: loopback, where it listens.
        env = {
            **os.environ,
            "DAPR_HOST_IP": HOST,
            # As the injector sets it from the pod's name: component metadata may say {podName}.
            "POD_NAME": self.replica,
            "DAPR_API_TOKEN": self.api_token,
            "APP_API_TOKEN": self.app_token,
        }
        self._spawn(self.command(), env)
        self.started_seconds = None
        check = self.health if wait else self.outbound_health
        reason = wait_until(check, timeout, alive=self.exit_reason)
        if reason is not None:
            raise with_logs(
                f"{self.name} not healthy after {time.monotonic() - t0:.1f}s: {reason}",
                self.log_path,
            )
        self.started_seconds = time.monotonic() - t0

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Stop and start again on the same ports; waits until healthy."""
        self.stop()
        self.start(wait=True, timeout=timeout)

    def health(self) -> str | None:
        """None when daprd is fully up (its app channel included), else what is missing."""
        status = http_status(f"{self.http_url}/v1.0/healthz")
        return None if status == 204 else f"{self.name} /v1.0/healthz answered {status}"

    def outbound_health(self) -> str | None:
        """None when daprd's own APIs answer, even if its app is not up yet."""
        status = http_status(f"{self.http_url}/v1.0/healthz/outbound")
        return None if status == 204 else f"{self.name} /v1.0/healthz/outbound answered {status}"

    def metadata(self) -> dict[str, object]:
        response = httpx.get(
            f"{self.http_url}/v1.0/metadata", headers={"dapr-api-token": self.api_token}, timeout=5
        )
        response.raise_for_status()
        data: dict[str, object] = response.json()
        return data

    def subscribed_topics(self) -> set[str]:
        subs = self.metadata().get("subscriptions") or []
        assert isinstance(subs, list)
        return {str(s.get("topic")) for s in subs if isinstance(s, dict)}

    def missing_topics(self, topics: Sequence[str]) -> str | None:
        """None when the sidecar lists a subscription for each topic, else the missing ones."""
        try:
            missing = sorted(set(topics) - self.subscribed_topics())
        except httpx.HTTPError as exc:
            return f"{self.name} metadata: {exc!r}"
        return f"{self.name} not subscribed to {missing}" if missing else None
