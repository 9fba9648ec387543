"""Fixtures for the deployment tests: k8s/ rendered by kustomize, Dapr's CRDs, daprd.

kustomize comes from `scripts/infra up kustomize` (built with Go into the project cache); the
Dapr CRDs are read from the Dapr Go module that tools/daprd pins, in Go's module cache, at test
time. Missing pieces skip locally and fail under CI=true (tests/ci.py).
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
OVERLAYS = ("kubernetes", "consul")
DAPR_GROUP = "dapr.io"

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


def dapr_version() -> str:
    """The Dapr version tools/daprd pins (its go.mod), e.g. v1.18.3."""
    gomod = (REPO_ROOT / "tools" / "daprd" / "go.mod").read_text()
    match = re.search(r"^\s*github\.com/dapr/dapr (v\S+)", gomod, re.MULTILINE)
    assert match, "tools/daprd/go.mod does not require github.com/dapr/dapr"
    return match.group(1)


@pytest.fixture(scope="session")
def dapr_crds() -> dict[tuple[str, str], Doc]:
    """(apiVersion, kind) -> the openAPI v3 schema of that CRD version, from the Dapr module."""
    go = shutil.which("go")
    if go is None:
        unavailable("daprd", "no Go toolchain to locate the Dapr module")
    assert go is not None
    done = subprocess.run(
        [go, "mod", "download", "-json", f"github.com/dapr/dapr@{dapr_version()}"],
        cwd=REPO_ROOT / "tools" / "daprd",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    module_dir = json.loads(done.stdout or "{}").get("Dir") if done.returncode == 0 else None
    if not module_dir:
        unavailable("daprd", f"the Dapr module {dapr_version()} is not downloadable: {done.stderr}")
    crd_dir = Path(str(module_dir)) / "charts" / "dapr" / "crds"
    schemas: dict[tuple[str, str], Doc] = {}
    for path in sorted(crd_dir.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version["schema"]["openAPIV3Schema"]
                schemas[(f"{group}/{version['name']}", kind)] = schema
    assert schemas, f"no CRDs found in {crd_dir}"
    return schemas


@pytest.fixture
def kafka_and_redis() -> None:
    for service, variable, default in (
        ("kafka", "KAFKA_PORT", 9092),
        ("redis", "REDIS_PORT", 6379),
    ):
        port = int(os.environ.get(variable, default))
        if not port_open(port):
            unavailable(service, f"nothing listens on 127.0.0.1:{port}")
