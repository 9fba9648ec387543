"""devstack's Stack, with the product sidecar loading the Dapr resources of k8s/ (via
tests/deploy/loopback.py) instead of a profile of components/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devstack import Sidecar, Stack
from devstack.stack import PRODUCT_APP_ID
from tests.deploy.conftest import Doc
from tests.deploy.loopback import loopback_resources, set_metadata, write_resources


def sqlite_resolution(run_dir: Path) -> dict[str, Any]:
    """The full profile's single-host resolver, on the stack's shared file."""
    path = run_dir / "dapr" / "nameresolution.db"
    return {
        "component": "sqlite",
        "version": "v1",
        "configuration": {"connectionString": str(path)},
    }


class K8sResourcesStack(Stack):
    """Full-profile stack whose product sidecar runs on k8s/'s Dapr resources.

    `name_resolution` replaces the Configuration's (cluster DNS does not exist here); with
    `simulator_name_resolution` the simulator's sidecar uses that resolver too.
    """

    def __init__(
        self,
        docs: list[Doc],
        name_resolution: dict[str, Any] | None = None,
        simulator_name_resolution: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(profile="full", **kwargs)
        self.docs = docs
        self.name_resolution = name_resolution or sqlite_resolution(self.run_dir)
        self.simulator_name_resolution = simulator_name_resolution

    def sidecar(self, app_id: str, consumer_group: str, replica: str | None = None) -> Sidecar:
        if app_id != PRODUCT_APP_ID:
            sidecar = super().sidecar(app_id, consumer_group, replica)
            if self.simulator_name_resolution is not None:
                config = yaml.safe_load(sidecar.config_path.read_text())
                config["spec"]["nameResolution"] = self.simulator_name_resolution
                sidecar.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
            return sidecar
        resources, config = loopback_resources(
            self.docs,
            kafka=self.kafka_brokers,
            redis=self.redis_host,
            otel=self.otel_endpoint,
            name_resolution=self.name_resolution,
        )
        for doc in resources:
            if doc["kind"] == "Component" and doc["spec"]["type"] == "pubsub.kafka":
                set_metadata(doc, "consumerGroup", consumer_group)  # this run's group
        name = replica or app_id
        folder, config_path = write_resources(resources, config, self.run_dir / "dapr" / name)
        return Sidecar(
            app_id,
            self.daprd,
            folder,
            config_path,
            self.run_dir,
            log_level=self.log_level,
            replica=name,
        )
