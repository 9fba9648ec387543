"""The Dapr resources of k8s/ load into a real daprd, and a paid order flows end to end.

The product service runs beside a daprd that loads the rendered Kafka pub/sub, Redis lock,
Resiliency and Configuration of k8s/overlays/kubernetes, with loopback addresses
(tests/deploy/loopback.py says exactly what changes), and takes its subscriptions from the app
(ListTopicSubscriptions); the order simulator runs beside a full-profile daprd. Real Kafka and
Redis from `scripts/infra`; SQLite for the service.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.deploy.conftest import Doc
from tests.deploy.k8s_stack import K8sResourcesStack
from tests.smoke.test_components_and_devstack import create_sku, loaded_components

pytestmark = pytest.mark.infra


def test_k8s_dapr_resources_load_into_daprd_and_deliver_a_paid_order(
    rendered: dict[str, list[Doc]], kafka_and_redis: None, tmp_path: Path
) -> None:
    run = f"deploy-k8s-{time.time_ns()}"
    docs = rendered["kubernetes"]
    with K8sResourcesStack(docs, run_dir=tmp_path, consumer_group=run, topic_suffix=run) as stack:
        product = stack.start_product()
        assert loaded_components(product.sidecar) == {
            "kubernetes": "secretstores.local.file",
            "pubsub": "pubsub.kafka",
            "lockstore": "lock.redis",
        }
        log = product.sidecar.log_path.read_text()
        assert "Loading Resiliency configuration: resiliency" in log
        assert "Error getting secret" not in log and "isn't loaded" not in log
        # k8s/ declares none: these are the app's own, with the dead-letter topics it sets,
        # and the dead-letter topics themselves (recorded; no dead-letter topic of their own).
        subscriptions = product.sidecar.metadata()["subscriptions"]
        assert isinstance(subscriptions, list)
        dead_letters = {s["topic"]: s.get("deadLetterTopic") or "" for s in subscriptions}
        inputs = [stack.topics.wire(t) for t in ("OnPaymentSuccess", "OnInventoryDeductSuccessDLQ")]
        assert dead_letters == {
            **{topic: topic + ".dead-letter" for topic in inputs},
            **{topic + ".dead-letter": "" for topic in inputs},
        }

        client = stack.start_simulator().client
        sku = create_sku(client.product, stock=5)
        order_id = time.time_ns() // 1000
        client.pay(order_id, [(sku.product_id, sku.id, 2)])
        # The first order of a fresh stack waits for both consumer groups to join (readiness
        # only says the subscriptions are declared): as long as World.warm_up allows.
        event = client.wait_for(order_id, topic="OnInventoryDeductSuccess", timeout=120)[0]
        assert event.data["Sku"] == [{"Id": str(sku.id), "Quantity": 2, "Stock": 3, "Threshold": 1}]
