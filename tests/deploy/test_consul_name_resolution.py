"""Consul name resolution, checked against a stand-in (tests/deploy/consul_standin.py).

Both sidecars use the Consul resolver configuration of k8s/overlays/consul, pointed at the
stand-in: the product service's daprd loads k8s/'s Dapr resources, the simulator's the full
profile (the self-hosted multi-host profile differs from it only in name resolution). Each
registers itself, and the simulator reaches the product service by service invocation
resolved through Consul's health API.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest

from devstack.stack import PRODUCT_APP_ID, SIMULATOR_APP_ID
from tests.deploy.conftest import Doc
from tests.deploy.consul_standin import ConsulStandIn
from tests.deploy.k8s_stack import K8sResourcesStack
from tests.smoke.test_components_and_devstack import create_sku

pytestmark = pytest.mark.infra


def consul_resolution(docs: list[Doc], address: str) -> dict[str, object]:
    [config] = [d for d in docs if d["kind"] == "Configuration"]
    resolution = copy.deepcopy(config["spec"]["nameResolution"])
    assert resolution["component"] == "consul"
    resolution["configuration"]["client"]["address"] = address
    return dict(resolution)


def test_sidecars_register_in_consul_and_resolve_each_other_through_it(
    rendered: dict[str, list[Doc]], kafka_and_redis: None, tmp_path: Path
) -> None:
    run = f"deploy-consul-{time.time_ns()}"
    with ConsulStandIn() as consul:
        resolution = consul_resolution(rendered["consul"], consul.address)
        with K8sResourcesStack(
            rendered["consul"],
            name_resolution=resolution,
            simulator_name_resolution=resolution,
            run_dir=tmp_path,
            consumer_group=run,
            topic_suffix=run,
        ) as stack:
            product = stack.start_product()
            simulator = stack.start_simulator()
            [registered] = consul.registered(PRODUCT_APP_ID)
            assert registered["Address"] == "127.0.0.1"
            assert registered["Meta"]["DAPR_PORT"] == str(product.sidecar.internal_grpc_port)
            assert registered["Tags"] == ["dapr", "product"]
            assert len(consul.registered(SIMULATOR_APP_ID)) == 1

            sku = create_sku(simulator.client.product, stock=5)  # invocation via Consul
            assert sku.id > 0
            assert consul.queried(PRODUCT_APP_ID) >= 1
            order_id = time.time_ns() // 1000
            simulator.client.pay(order_id, [(sku.product_id, sku.id, 2)])
            # The first order of a fresh stack waits for both consumer groups to join.
            [event, *_copies] = simulator.client.wait_for(
                order_id, "OnInventoryDeductSuccess", timeout=120
            )
            assert event.data["Sku"][0]["Stock"] == 3
        # selfDeregister: stopped sidecars leave the catalogue.
        assert consul.registered(PRODUCT_APP_ID) == consul.registered(SIMULATOR_APP_ID) == []
