"""components/ loads into a real daprd, and devstack runs the service and the simulator.

Each profile's resources are loaded as committed (the paths a user would pass to daprd) and as
devstack renders them; the stack tests go through the real product service and sidecars.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from devstack import Sidecar, Stack
from devstack.components import COMPONENTS_ROOT, resource_dirs
from devstack.stack import PRODUCT_APP_ID, SIMULATOR_APP_ID
from order_simulator import topics
from product_service.contract.product.v1 import product_service_pb2 as pb
from tests.ci import unavailable
from tests.smoke.conftest import daprd_binary

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def daprd() -> str:
    binary = daprd_binary()
    if binary is None:
        unavailable("daprd", "no daprd binary (scripts/infra daprd-path printed nothing usable)")
    assert binary is not None
    return binary


def loaded_components(sidecar: Sidecar) -> dict[str, str]:
    components = sidecar.metadata().get("components") or []
    assert isinstance(components, list)
    return {c["name"]: c["type"] for c in components}


def start_app_less(
    daprd: str, app_id: str, resources: Sequence[Path], config: Path, run_dir: Path
) -> Sidecar:
    sidecar = Sidecar(app_id, daprd, resources, config, run_dir)
    sidecar.start(wait=False)  # no app behind it: the sidecar's own APIs are enough
    return sidecar


@pytest.mark.parametrize(
    ("profile", "app_id", "expected"),
    [
        ("embedded", PRODUCT_APP_ID, {"pubsub": "pubsub.in-memory"}),
        ("full", PRODUCT_APP_ID, {"pubsub": "pubsub.kafka", "lockstore": "lock.redis"}),
        ("full", SIMULATOR_APP_ID, {"pubsub": "pubsub.kafka"}),
    ],
)
def test_committed_profile_loads_into_daprd(
    daprd: str,
    kafka_up: None,
    redis_up: None,
    tmp_path: Path,
    profile: str,
    app_id: str,
    expected: dict[str, str],
) -> None:
    profile_dir = COMPONENTS_ROOT / profile
    config = profile_dir / "config.yaml"
    (tmp_path / ".dapr").mkdir()  # the full profile's sqlite NR file (the Dapr CLI's folder)
    sidecar = start_app_less(daprd, app_id, resource_dirs(profile_dir, app_id), config, tmp_path)
    try:
        assert loaded_components(sidecar) == expected
        log = sidecar.log_path.read_text()
        assert "Loading Resiliency configuration: resiliency" in log
        assert "Initialized name resolution to sqlite" in log
        assert "non-YAML resiliency file" not in log
        assert "level=error" not in log
    finally:
        sidecar.stop()


def test_embedded_stack_deducts_a_paid_order_through_the_sidecar(tmp_path: Path) -> None:
    with Stack(profile="embedded", run_dir=tmp_path) as stack:
        product = stack.start_product()
        with stack.client() as client:
            sku = create_sku(client.product, stock=3)
            client.pay(501, [(sku.product_id, sku.id, 2)])
            assert wait_outcome(client.product, 501) == pb.SUCCEEDED
            product.kill()
            product.start()
            product.sidecar.restart()
            client.pay(502, [(sku.product_id, sku.id, 2)])
            assert wait_outcome(client.product, 502) == pb.FAILED
        assert product.stop() == 0
        codes = stack.close()
    assert set(codes.values()) <= {0}


def test_full_stack_outcome_reaches_the_simulator_through_kafka(
    tmp_path: Path, kafka_up: None, redis_up: None
) -> None:
    run = f"devstack-smoke-{time.time_ns()}"
    # Own topics and group: other stacks on this Kafka neither take nor answer our orders.
    # SQLite keeps the test away from the shared MariaDB databases; Kafka and Redis are real.
    with Stack(profile="full", run_dir=tmp_path, consumer_group=run, topic_suffix=run) as stack:
        stack.start_product()
        simulator = stack.start_simulator()
        client = simulator.client
        sku = create_sku(client.product, stock=5)  # service invocation across two sidecars
        order_id = time.time_ns() // 1000
        client.pay(order_id, [(sku.product_id, sku.id, 2)])
        # The first order of a fresh stack waits for both consumer groups to join (readiness
        # only says the subscriptions are declared): as long as World.warm_up allows.
        event = client.wait_for(order_id, topic="OnInventoryDeductSuccess", timeout=120)[0]
        assert event.data["Sku"] == [{"Id": str(sku.id), "Quantity": 2, "Stock": 3, "Threshold": 1}]
        own = [name for name in broker_topics(stack.kafka_brokers) if name.endswith(run)]
        assert len(own) >= len(topics.ALL), own
    # Closing the stack deleted the topics it made for its suffix, and only those.
    assert [name for name in broker_topics(stack.kafka_brokers) if run in name] == []


def broker_topics(brokers: str) -> list[str]:
    from confluent_kafka.admin import AdminClient

    return list(AdminClient({"bootstrap.servers": brokers}).list_topics(timeout=10).topics)


def create_sku(product: object, stock: int) -> pb.Sku:
    code = f"SMOKE-{time.time_ns()}"
    request = pb.CreateProductRequest(
        name="smoke", skus=[pb.NewSku(code=code, price="1.00", stock=stock, warn_threshold=1)]
    )
    created: pb.Product = product.CreateProduct(request, timeout=10)  # type: ignore[attr-defined]
    return created.skus[0]


def wait_outcome(product: object, order_id: int, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            record = product.GetOrder(pb.GetOrderRequest(order_id=order_id), timeout=5)  # type: ignore[attr-defined]
            for op in record.operations:
                if op.operation == "DEDUCT" and op.outcome != pb.PENDING:
                    return int(op.outcome)
        except Exception:  # NOT_FOUND until the message is processed
            pass
        time.sleep(0.02)
    raise AssertionError(f"no outcome for order {order_id} within {timeout}s")
