"""Fixtures for the infrastructure smoke tests.

The services are started by ``scripts/infra up``; these tests only prove that
each one answers and that daprd can use Kafka and Redis. When a service is not
reachable the test is skipped with the reason, except under ``CI=true`` where
it fails naming the service (CI must never pass on a missing piece).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.net import free_port
from tests.ci import unavailable

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "scripts" / "infra"
HOST = "127.0.0.1"

MARIADB_PORT = int(os.environ.get("MARIADB_PORT", "3306"))
MARIADB_USER = os.environ.get("MARIADB_USER", "product")
MARIADB_PASSWORD = os.environ.get("MARIADB_PASSWORD", "product")
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))
KAFKA_PORT = int(os.environ.get("KAFKA_PORT", "9092"))
JAEGER_QUERY_PORT = int(os.environ.get("JAEGER_QUERY_PORT", "16686"))
JAEGER_OTLP_GRPC_PORT = int(os.environ.get("JAEGER_OTLP_GRPC_PORT", "4317"))

PUBSUB_NAME = "smoke-pubsub"
LOCK_STORE_NAME = "smoke-lock"
SMOKE_TOPIC = "smoke"
APP_ID = "smoke"


def port_open(port: int, host: str = HOST, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_port(service: str, port: int) -> None:
    if not port_open(port):
        unavailable(service, f"nothing listens on {HOST}:{port}")


@dataclass
class Daprd:
    http_port: int
    grpc_port: int
    metrics_port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def daprd_binary() -> str | None:
    try:
        out = subprocess.run(
            [str(INFRA), "daprd-path"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    path = out.stdout.strip()
    if out.returncode == 0 and path and os.access(path, os.X_OK):
        return path
    return shutil.which("daprd")


COMPONENTS = f"""\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: {PUBSUB_NAME}
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - name: brokers
      value: "{HOST}:{KAFKA_PORT}"
    - name: authType
      value: "none"
    - name: clientID
      value: "smoke-daprd"
    - name: consumerGroup
      value: "smoke-consumer"
    - name: initialOffset
      value: "oldest"
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: {LOCK_STORE_NAME}
spec:
  type: lock.redis
  version: v1
  metadata:
    - name: redisHost
      value: "{HOST}:{REDIS_PORT}"
    - name: redisPassword
      value: ""
"""

CONFIG = f"""\
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: smoke-config
spec:
  tracing:
    samplingRate: "1"
    otel:
      endpointAddress: "{HOST}:{JAEGER_OTLP_GRPC_PORT}"
      isSecure: false
      protocol: grpc
"""


@pytest.fixture(scope="session")
def kafka_up() -> None:
    require_port("kafka", KAFKA_PORT)


@pytest.fixture(scope="session")
def redis_up() -> None:
    require_port("redis", REDIS_PORT)


@pytest.fixture(scope="session")
def daprd(
    tmp_path_factory: pytest.TempPathFactory, kafka_up: None, redis_up: None
) -> Iterator[Daprd]:
    """An app-less daprd with a Kafka pub/sub and a Redis lock store.

    daprd refuses to start when a component cannot initialise, so Kafka and
    Redis are checked first to name the missing service instead.
    """
    binary = daprd_binary()
    if binary is None:
        unavailable("daprd", "no daprd binary (scripts/infra daprd-path printed nothing usable)")
    assert binary is not None
    workdir = tmp_path_factory.mktemp("daprd")
    resources = workdir / "resources"
    resources.mkdir()
    (resources / "components.yaml").write_text(COMPONENTS)
    config = workdir / "config.yaml"
    config.write_text(CONFIG)
    http_port, grpc_port, metrics_port, internal_port = (free_port() for _ in range(4))
    log_path = workdir / "daprd.log"
    cmd = [
        binary,
        "--app-id", APP_ID,
        "--mode", "standalone",
        "--dapr-listen-addresses", HOST,
        "--dapr-http-port", str(http_port),
        "--dapr-grpc-port", str(grpc_port),
        "--dapr-internal-grpc-port", str(internal_port),
        "--metrics-port", str(metrics_port),
        "--resources-path", str(resources),
        "--config", str(config),
        # App-less and control-plane-free: no placement (actors) and no
        # scheduler; both are empty by default in 1.18, stated for clarity.
        "--placement-host-address", "",
        "--log-level", "info",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    sidecar = Daprd(http_port, grpc_port, metrics_port, log_path, proc)
    try:
        import httpx

        deadline = time.monotonic() + 60
        last = "no answer"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(
                    f"daprd exited with code {proc.returncode} on start:\n{sidecar.log_tail()}",
                    pytrace=False,
                )
            try:
                r = httpx.get(f"{sidecar.http_url}/v1.0/healthz", timeout=2)
                if r.status_code == 204:
                    break
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.5)
        else:
            pytest.fail(
                f"daprd did not become healthy within 60s ({last}):\n{sidecar.log_tail()}",
                pytrace=False,
            )
        yield sidecar
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
