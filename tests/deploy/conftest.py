"""Fixtures for the deployment tests: k8s/ rendered by kustomize, Dapr's and the Prometheus
Operator's CRDs, daprd, the Dapr sidecar injector's patch code (tools/injector).

kustomize and the injector come from `scripts/infra up kustomize injector` (built with Go into
the project cache); the Dapr CRDs are read from the Dapr Go module that tools/daprd pins, the
Prometheus Operator's from its Go module (PROMETHEUS_OPERATOR), both in Go's module cache, at
test time. Missing pieces skip locally and fail under CI=true (tests/ci.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.net import port_open
from tests.ci import unavailable

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "scripts" / "infra"
OVERLAYS = ("kubernetes", "consul", "monitoring")
DAPR_GROUP = "dapr.io"
MONITORING_GROUP = "monitoring.coreos.com"
# The CRDs of k8s/components/monitoring's kinds (PrometheusRule, PodMonitor); v0.85.0 is the
# newest version of the module that the module proxy reachable here serves.
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0"

Doc = dict[str, Any]


def _infra_path(tool: str) -> str | None:
    done = subprocess.run(
        [str(INFRA), f"{tool}-path"], capture_output=True, text=True, timeout=60, check=False
    )
    path = done.stdout.strip()
    return path if done.returncode == 0 and path else None


@pytest.fixture(scope="session")
def kustomize() -> str:
    path = _infra_path("kustomize")
    if path is None:
        unavailable("kustomize", "no kustomize binary (scripts/infra kustomize-path printed none)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def injector() -> str:
    """tools/injector: the Dapr sidecar injector's own patch code, built by scripts/infra."""
    path = _infra_path("injector")
    if path is None:
        unavailable("injector", "no injector binary (scripts/infra injector-path printed none)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def rendered(kustomize: str) -> dict[str, list[Doc]]:
    """Each overlay of k8s/, rendered: overlay name -> its documents."""
    out: dict[str, list[Doc]] = {}
    for overlay in OVERLAYS:
        done = subprocess.run(
            [kustomize, "build", str(REPO_ROOT / "k8s" / "overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        out[overlay] = [d for d in yaml.safe_load_all(done.stdout) if d]
    return out


def is_dapr(doc: Doc) -> bool:
    return str(doc["apiVersion"]).split("/")[0] == DAPR_GROUP


def is_monitoring(doc: Doc) -> bool:
    return str(doc["apiVersion"]).split("/")[0] == MONITORING_GROUP


def dapr_version() -> str:
    """The Dapr version tools/daprd pins (its go.mod), e.g. v1.18.3."""
    gomod = (REPO_ROOT / "tools" / "daprd" / "go.mod").read_text()
    match = re.search(r"^\s*github\.com/dapr/dapr (v\S+)", gomod, re.MULTILINE)
    assert match, "tools/daprd/go.mod does not require github.com/dapr/dapr"
    return match.group(1)


def go_module_dir(module: str, cwd: Path, owner: str) -> Path:
    """Where Go's module cache holds `module` (path@version), downloaded if need be (hashes
    checked against cwd's go.sum, or the checksum database outside a module)."""
    go = shutil.which("go")
    if go is None:
        unavailable(owner, "no Go toolchain to locate the Go module " + module)
    assert go is not None
    done = subprocess.run(
        [go, "mod", "download", "-json", module],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    module_dir = json.loads(done.stdout or "{}").get("Dir") if done.returncode == 0 else None
    if not module_dir:
        unavailable(owner, f"the Go module {module} is not downloadable: {done.stderr}")
    return Path(str(module_dir))


class CrdLoader(yaml.SafeLoader):
    """PyYAML resolves a plain `=` to YAML 1.1's value key, which it cannot construct; the
    Prometheus Operator's CRDs have it as an enum value (a matcher's operator): a string."""


CrdLoader.add_constructor("tag:yaml.org,2002:value", CrdLoader.construct_scalar)


def crd_schemas(crd_dir: Path) -> dict[tuple[str, str], Doc]:
    """(apiVersion, kind) -> the openAPI v3 schema of that CRD version, for every CRD file."""
    schemas: dict[tuple[str, str], Doc] = {}
    for path in sorted(crd_dir.glob("*.yaml")):
        for crd in yaml.load_all(path.read_text(), Loader=CrdLoader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version["schema"]["openAPIV3Schema"]
                schemas[(f"{group}/{version['name']}", kind)] = schema
    assert schemas, f"no CRDs found in {crd_dir}"
    return schemas


@pytest.fixture(scope="session")
def dapr_crds() -> dict[tuple[str, str], Doc]:
    """(apiVersion, kind) -> the openAPI v3 schema of that CRD version, from the Dapr module."""
    module = f"github.com/dapr/dapr@{dapr_version()}"
    module_dir = go_module_dir(module, REPO_ROOT / "tools" / "daprd", "daprd")
    return crd_schemas(module_dir / "charts" / "dapr" / "crds")


@pytest.fixture(scope="session")
def monitoring_crds() -> dict[tuple[str, str], Doc]:
    """The same for the Prometheus Operator's kinds, from its module's example CRDs."""
    module_dir = go_module_dir(PROMETHEUS_OPERATOR, REPO_ROOT, "prometheus")
    return crd_schemas(module_dir / "example" / "prometheus-operator-crd")


@pytest.fixture
def kafka_and_redis() -> None:
    for service, variable, default in (
        ("kafka", "KAFKA_PORT", 9092),
        ("redis", "REDIS_PORT", 6379),
    ):
        port = int(os.environ.get(variable, default))
        if not port_open(port):
            unavailable(service, f"nothing listens on 127.0.0.1:{port}")
