"""dapr.yaml, the multi-app run template, against the Dapr CLI's run-file schema and the apps.

The CLI (github.com/dapr/cli, `pkg/runfileconfig` and `pkg/standalone/run.go`, master of
2026-07) parses the file with yaml.v2 non-strictly: a misspelt key, or one in the wrong section,
is dropped without a word. So every key is checked here against the CLI's structs, with its
type. `dapr run -f .` itself was run by hand with a CLI built from that source
(`scripts/dapr-run-check`); no CLI is built in CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devstack.components import COMPONENTS_ROOT, resource_dirs
from tests.deploy.conftest import REPO_ROOT

# SharedRunConfig: the keys `common:` takes, which every app inherits.
SHARED_KEYS: dict[str, type | tuple[type, ...]] = {
    "configFilePath": str,
    "appProtocol": str,
    "apiListenAddresses": str,
    "enableProfiling": bool,
    "logLevel": str,
    "appMaxConcurrency": int,
    "placementHostAddress": str,
    "resourcesPath": str,
    "resourcesPaths": list,
    "appSSL": bool,
    "maxBodySize": str,
    "readBufferSize": str,
    "enableAppHealthCheck": bool,
    "appHealthCheckPath": str,
    "appHealthProbeInterval": int,
    "appHealthProbeTimeout": int,
    "appHealthThreshold": int,
    "enableApiLogging": bool,
    "runtimePath": str,
    "env": dict,
    "daprdLogDestination": str,
    "appLogDestination": str,
    "schedulerHostAddress": str,
}
# RunConfig and App: the keys only an entry of `apps:` takes.
APP_KEYS: dict[str, type | tuple[type, ...]] = {
    "appID": str,
    "appChannelAddress": str,
    "appPort": int,
    "daprHTTPPort": int,
    "daprGRPCPort": int,
    "profilePort": int,
    "metricsPort": int,
    "daprInternalGRPCPort": int,
    "unixDomainSocket": str,
    "command": list,
    "appDirPath": str,
    "containerImage": str,
    "containerImagePullPolicy": str,
    "createService": bool,
}
LOG_DESTINATIONS = {"file", "console", "fileAndConsole"}
APP_PROTOCOLS = {"http", "https", "grpc", "grpcs", "h2c"}


def template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "dapr.yaml").read_text())
    return data


def apps() -> dict[str, dict[str, Any]]:
    return {app["appID"]: app for app in template()["apps"]}


def wrongly_typed(section: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The keys whose values yaml.v2 could not put into the CLI's field (a bool is no int)."""
    return {
        key: value
        for key, value in section.items()
        if not isinstance(value, schema[key])
        or (isinstance(value, bool) and schema[key] is not bool)
    }


def test_every_key_is_one_the_cli_reads_in_its_section_with_its_type() -> None:
    run_file = template()
    assert set(run_file) <= {"version", "name", "common", "apps"}
    assert run_file["version"] == 1
    common = run_file["common"]
    assert set(common) <= set(SHARED_KEYS), sorted(set(common) - set(SHARED_KEYS))
    assert wrongly_typed(common, SHARED_KEYS) == {}
    for app in run_file["apps"]:
        known = {**SHARED_KEYS, **APP_KEYS}
        assert set(app) <= set(known), (app.get("appID"), sorted(set(app) - set(known)))
        assert wrongly_typed(app, known) == {}, app.get("appID")
        assert app["appDirPath"], "appDirPath is required"
    for section in (common, *run_file["apps"]):
        assert section.get("appProtocol", "http") in APP_PROTOCOLS
        for key in ("daprdLogDestination", "appLogDestination"):
            assert section.get(key, "file") in LOG_DESTINATIONS


def test_no_control_plane_is_dialled_placement_empty_and_scheduler_a_space() -> None:
    """The CLI passes placement and scheduler addresses unless told not to: `""` switches
    placement off, but the CLI turns an empty scheduler address back into localhost:50006 for
    daprd 1.15 and newer; a value it trims to nothing switches it off."""
    common = template()["common"]
    assert common["placementHostAddress"] == ""
    scheduler = common["schedulerHostAddress"]
    assert scheduler != "" and scheduler.strip() == ""
    for app in apps().values():
        assert "placementHostAddress" not in app and "schedulerHostAddress" not in app


def test_every_path_exists_where_the_cli_resolves_it() -> None:
    """`common:` paths are relative to the run file's folder, an app's to its appDirPath."""
    common = template()["common"]
    assert (REPO_ROOT / common["configFilePath"]).is_file()
    for app in apps().values():
        app_dir = REPO_ROOT / app["appDirPath"]
        assert app_dir.is_dir()
        for path in app["resourcesPaths"]:
            assert any(Path(app_dir / path).glob("*.yaml")), path
        assert (app_dir / app["command"][0]).parent.name == "bin"  # .venv/bin: make install
        assert (app_dir / app["env"].get("PYTHONPATH", ".")).is_dir()


def test_each_app_gets_the_shared_folder_and_its_own_and_no_folder_inside_them() -> None:
    full = COMPONENTS_ROOT / "full"
    for app_id, app in apps().items():
        expected = [f"./{d.relative_to(REPO_ROOT)}" for d in resource_dirs(full, app_id)]
        assert app["resourcesPaths"] == expected
        for path in app["resourcesPaths"]:
            # daprd warns of every entry of a resources path that is not YAML, folders too.
            assert [p.name for p in (REPO_ROOT / path).iterdir() if p.is_dir()] == []


def test_the_name_resolution_file_lives_in_the_folder_the_cli_makes_for_its_logs() -> None:
    """The sqlite resolver does not create its folder, and both apps run in the checkout:
    `.dapr/` is where the CLI writes their logs before it starts daprd."""
    config = yaml.safe_load((REPO_ROOT / template()["common"]["configFilePath"]).read_text())
    resolution = config["spec"]["nameResolution"]
    assert resolution["component"] == "sqlite"
    assert Path(resolution["configuration"]["connectionString"]).parent == Path(".dapr")
    assert {app["appDirPath"] for app in apps().values()} == {"."}
    for app in apps().values():
        assert app.get("daprdLogDestination", template()["common"]["daprdLogDestination"]) in {
            "file",
            "fileAndConsole",
        }


def test_the_template_runs_the_service_and_the_simulator_on_grpc_app_channels() -> None:
    assert template()["common"]["appProtocol"] == "grpc"
    product, simulator = apps()["product-service"], apps()["order-simulator"]
    assert product["env"]["PRODUCT_GRPC_PORT"] == str(product["appPort"])
    assert simulator["env"]["SIMULATOR_GRPC_PORT"] == str(simulator["appPort"])
    assert product["command"][1:] == ["serve", "--migrate"]
    assert simulator["command"][1:] == ["-m", "order_simulator", "serve"]
    ports = [a[k] for a in apps().values() for k in ("appPort", "daprHTTPPort", "daprGRPCPort")]
    assert len(ports) == len(set(ports))
