"""The container image's inputs: the Dockerfile passes hadolint, and the wheel it installs
builds from the checkout and runs `product-service serve --help` in a clean environment.
(No container engine runs here, so the image itself is not built.)"""

from __future__ import annotations

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


def test_the_wheel_installs_into_a_clean_environment_and_serves(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), "."],
        cwd=REPO_ROOT,
        check=True,
        timeout=600,
    )
    [wheel] = dist.glob("product_service-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "product_service/contract/product/v1/events_pb2.py" in names
    assert not any(n.startswith(("tests/", "tools/", "order_simulator/")) for n in names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, str(wheel)], check=True, timeout=600)
    done = subprocess.run(
        [str(env_dir / "bin" / "product-service"), "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--migrate" in done.stdout
