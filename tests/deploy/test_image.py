"""The container image's inputs: the Dockerfile passes hadolint, and the wheel it installs
builds from the checkout and runs `product-service serve --help` in a clean environment.
(No container engine runs here, so the image itself is not built.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

from tests.deploy.conftest import REPO_ROOT

BIN = Path(sys.executable).parent


def test_the_dockerfile_passes_hadolint() -> None:
    done = subprocess.run(
        [str(BIN / "hadolint"), "--failure-threshold", "info", str(REPO_ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# The runtime part of uv.lock, with hashes: what the Dockerfile installs before the wheel.
EXPORT = "uv export --frozen --no-dev --no-emit-project --format requirements-txt"


def test_the_dockerfile_installs_the_locked_requirements_with_hashes() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert f"{EXPORT} -o /dist/requirements.txt" in dockerfile
    assert "pip install --no-cache-dir --require-hashes -r /dist/requirements.txt" in dockerfile
    assert "pip install --no-cache-dir --no-deps /dist/*.whl" in dockerfile


def test_the_wheel_installs_from_the_lock_into_a_clean_environment_and_serves(
    tmp_path: Path,
) -> None:
    dist, requirements = tmp_path / "dist", tmp_path / "requirements.txt"
    uv(["build", "--wheel", "--out-dir", str(dist), "."])
    uv([*EXPORT.split()[1:], "-o", str(requirements)])
    [wheel] = dist.glob("product_service-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "product_service/contract/product/v1/events_pb2.py" in names
    assert "product_service/contract/legacy/v7/events_pb2.py" in names
    assert not any(n.startswith(("tests/", "tools/", "order_simulator/")) for n in names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip"]
    subprocess.run(
        [*pip, "install", "--quiet", "--require-hashes", "-r", str(requirements)],
        check=True,
        timeout=600,
    )
    subprocess.run([*pip, "install", "--quiet", "--no-deps", str(wheel)], check=True, timeout=600)
    subprocess.run([*pip, "check"], check=True, timeout=60)
    assert installed(pip) == locked(requirements) | {"product-service": "0.1.0"}
    done = subprocess.run(
        [str(env_dir / "bin" / "product-service"), "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--migrate" in done.stdout


def uv(args: list[str]) -> None:
    subprocess.run(
        [str(REPO_ROOT / "scripts" / "uv"), *args], cwd=REPO_ROOT, check=True, timeout=600
    )


def locked(requirements: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of an exported requirements file."""
    pins = re.findall(r"^([A-Za-z0-9._-]+)==([^ ;\\]+)", requirements.read_text(), re.MULTILINE)
    return {canonical(name): version for name, version in pins}


def installed(pip: list[str]) -> dict[str, str]:
    listed = subprocess.run(
        [*pip, "list", "--format", "json", "--exclude", "pip", "--exclude", "setuptools"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return {canonical(p["name"]): p["version"] for p in json.loads(listed.stdout)}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
