"""dapr.yaml, the multi-app run template, names what the apps and the components expect.

The Dapr CLI cannot be built here (its Go module is not served by the module proxy reachable
from this machine), so `dapr run -f .` itself is not run; this checks the template against the
apps' settings and the committed files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import REPO_ROOT


def template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "dapr.yaml").read_text())
    return data


def apps() -> dict[str, dict[str, Any]]:
    return {app["appID"]: app for app in template()["apps"]}


def test_the_template_runs_the_service_and_the_simulator_on_grpc_app_channels() -> None:
    assert template()["version"] == 1
    assert template()["common"]["appProtocol"] == "grpc"
    product, simulator = apps()["product-service"], apps()["order-simulator"]
    assert product["env"]["PRODUCT_GRPC_PORT"] == str(product["appPort"])
    assert simulator["env"]["SIMULATOR_GRPC_PORT"] == str(simulator["appPort"])
    assert product["command"][1:] == ["serve", "--migrate"]
    assert simulator["command"][1:] == ["-m", "order_simulator", "serve"]
    ports = [a[k] for a in apps().values() for k in ("appPort", "daprHTTPPort", "daprGRPCPort")]
    assert len(ports) == len(set(ports))


def test_every_path_in_the_template_exists() -> None:
    common = template()["common"]
    assert (REPO_ROOT / common["configFilePath"]).is_file()
    for app in apps().values():
        app_dir = REPO_ROOT / app["appDirPath"]
        for path in app["resourcesPaths"]:
            assert any(Path(app_dir / path).glob("*.yaml")), path
        assert (app_dir / app["env"].get("PYTHONPATH", ".")).is_dir()


def test_each_app_gets_its_own_pubsub_folder_of_the_full_profile() -> None:
    for app_id, app in apps().items():
        assert f"./components/full/{app_id}" in app["resourcesPaths"]
