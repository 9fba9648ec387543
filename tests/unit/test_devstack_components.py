"""The component profiles in components/ and how devstack renders them for one app."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.components import COMPONENTS_ROOT, Overrides, apply_metadata, render
from order_simulator.topics import Topics
from product_service.infrastructure.settings import Settings

Doc = dict[str, Any]


def all_resource_docs() -> list[tuple[Path, Doc]]:
    docs = []
    for path in sorted(COMPONENTS_ROOT.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Configuration":
                docs.append((path, doc))
    return docs


def metadata_of(doc: Doc) -> dict[str, str]:
    return {item["name"]: item["value"] for item in doc["spec"]["metadata"]}


def rendered(tmp_path: Path, profile: str, app_id: str, overrides: Overrides) -> list[Doc]:
    resources, _ = render(profile, app_id, tmp_path, overrides)
    files = [list(yaml.safe_load_all(path.read_text())) for path in sorted(resources.glob("*"))]
    # daprd 1.18 reads a Resiliency only from the first document of a file: one per file.
    assert all(len(documents) == 1 for documents in files)
    return [documents[0] for documents in files]


def test_every_component_and_resiliency_has_scopes() -> None:
    docs = all_resource_docs()
    assert docs
    for path, doc in docs:
        assert doc.get("scopes"), f"{path}: {doc['metadata']['name']} has no scopes"


def test_resiliency_retries_are_bounded_and_exponential_both_ways() -> None:
    for profile in ("embedded", "full"):
        doc = yaml.safe_load((COMPONENTS_ROOT / profile / "shared" / "resiliency.yaml").read_text())
        retries = doc["spec"]["policies"]["retries"]
        pubsub = doc["spec"]["targets"]["components"]["pubsub"]
        for direction in ("inbound", "outbound"):
            policy = retries[pubsub[direction]["retry"]]
            assert policy["policy"] == "exponential"
            assert 0 < policy["maxRetries"] <= 50
            assert policy["maxInterval"]


def test_embedded_has_in_memory_pubsub_and_no_lock_store(tmp_path: Path) -> None:
    docs = rendered(tmp_path, "embedded", "product-service", Overrides())
    kinds = {(d["kind"], d["metadata"]["name"]): d["spec"].get("type") for d in docs}
    assert kinds == {
        ("Component", "pubsub"): "pubsub.in-memory",
        ("Resiliency", "resiliency"): None,
    }


def test_full_profile_gives_each_app_its_own_consumer_group(tmp_path: Path) -> None:
    product = rendered(tmp_path / "p", "full", "product-service", Overrides())
    simulator = rendered(tmp_path / "s", "full", "order-simulator", Overrides())
    groups = {
        app: [metadata_of(d)["consumerGroup"] for d in docs if d["metadata"]["name"] == "pubsub"]
        for app, docs in (("product", product), ("simulator", simulator))
    }
    assert groups == {"product": ["product-consumer"], "simulator": ["order-simulator"]}
    assert "lockstore" in {d["metadata"]["name"] for d in product}
    assert "lockstore" not in {d["metadata"]["name"] for d in simulator}


def test_overrides_replace_metadata_and_leave_the_source_files_alone(tmp_path: Path) -> None:
    source = (COMPONENTS_ROOT / "full" / "product-service" / "pubsub.yaml").read_text()
    overrides = Overrides(metadata={"pubsub": {"consumerGroup": "g-1", "brokers": "127.0.0.1:1"}})
    docs = rendered(tmp_path, "full", "product-service", overrides)
    pubsub = next(d for d in docs if d["metadata"]["name"] == "pubsub")
    assert metadata_of(pubsub)["consumerGroup"] == "g-1"
    assert metadata_of(pubsub)["brokers"] == "127.0.0.1:1"
    assert (COMPONENTS_ROOT / "full" / "product-service" / "pubsub.yaml").read_text() == source


def test_apply_metadata_appends_a_new_item() -> None:
    doc = {"spec": {"metadata": [{"name": "a", "value": "1"}]}}
    assert metadata_of(apply_metadata(doc, {"b": "2"})) == {"a": "1", "b": "2"}


def test_full_config_points_name_resolution_into_the_run_dir(tmp_path: Path) -> None:
    db = tmp_path / "nr.db"
    _, config = render("full", "product-service", tmp_path, Overrides(name_resolution_db=db))
    spec = yaml.safe_load(config.read_text())["spec"]
    assert spec["nameResolution"]["component"] == "sqlite"
    assert spec["nameResolution"]["configuration"]["connectionString"] == str(db)
    assert spec["tracing"]["otel"]["endpointAddress"] == "127.0.0.1:4317"


def test_embedded_config_keeps_its_in_memory_name_resolution(tmp_path: Path) -> None:
    overrides = Overrides(name_resolution_db=tmp_path / "nr.db")
    _, config = render("embedded", "product-service", tmp_path, overrides)
    spec = yaml.safe_load(config.read_text())["spec"]
    assert spec["nameResolution"]["configuration"]["connectionString"] == ":memory:"
    assert spec["tracing"]["samplingRate"] == "0"


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        render("nope", "product-service", tmp_path, Overrides())


def test_topic_scopes_follow_the_runs_topic_names(tmp_path: Path) -> None:
    wire = Topics("run7").wire
    docs = rendered(tmp_path, "full", "product-service", Overrides(topic_wire=wire))
    [pubsub] = [d for d in docs if d["metadata"]["name"] == "pubsub"]
    scopes = metadata_of(pubsub)

    assert scopes["subscriptionScopes"] == (
        "product-service=OnPaymentSuccess.run7,OnInventoryDeductSuccessDLQ.run7,"
        "OnPaymentSuccess.run7.dead-letter,OnInventoryDeductSuccessDLQ.run7.dead-letter,"
        "run7-OrderEvent,run7-ProductEventDLQ,run7-OrderEvent.dead-letter,"
        "run7-ProductEventDLQ.dead-letter"
    )
    assert "OnPaymentSuccess.run7.dead-letter" in scopes["publishingScopes"]
    assert "product-service=OnInventoryDeductSuccess.run7," in scopes["publishingScopes"]
    assert scopes["protectedTopics"].split(",") == [
        wire(t)
        for t in (
            "OnPaymentSuccess",
            "OnInventoryDeductSuccessDLQ",
            "OnInventoryDeductSuccess",
            "OnInventoryDeductFailed",
            "OnInventoryReverted",
            "OrderEvent",
            "ProductEventDLQ",
            "ProductEvent",
            "OrderEventDLQ",
        )
    ]


def test_a_run_can_sample_fewer_traces_than_the_profile(tmp_path: Path) -> None:
    _, as_is = render("full", "product-service", tmp_path / "a", Overrides())
    _, sampled = render("full", "product-service", tmp_path / "b", Overrides(sampling_rate="0.01"))
    assert yaml.safe_load(as_is.read_text())["spec"]["tracing"]["samplingRate"] == "1"
    assert yaml.safe_load(sampled.read_text())["spec"]["tracing"]["samplingRate"] == "0.01"


PRODUCT_PUBSUB_FILES = [
    COMPONENTS_ROOT / "full" / "product-service" / "pubsub.yaml",
    COMPONENTS_ROOT.parent / "k8s" / "base" / "dapr" / "pubsub.yaml",
]
# Every metadata key the product service's sidecar writes on a publish (infrastructure/dapr/
# publisher.py, and daprd 1.18.3 for a raw publish: traceid, tracestate) or a dead letter.
PUBLISH_METADATA = [
    "partitionKey",
    "rawPayload",
    "traceid",
    "tracestate",
    "cloudevent.id",
    "cloudevent.traceparent",
    "__key",
    "pubsubName",
]


@pytest.mark.parametrize("path", PRODUCT_PUBSUB_FILES, ids=lambda p: p.parent.name)
def test_no_publish_metadata_becomes_a_kafka_header_for_go_micro_to_merge(path: Path) -> None:
    items = yaml.safe_load(path.read_text())["spec"]["metadata"]
    [pattern] = [item["value"] for item in items if item["name"] == "excludeHeaderMetaRegex"]
    # Go's regexp.MatchString finds a match anywhere, as re.search does.
    assert all(re.search(pattern, key) for key in PUBLISH_METADATA)


def test_the_full_profile_grants_the_v7_bridges_topics() -> None:
    path = COMPONENTS_ROOT / "full" / "product-service" / "pubsub.yaml"
    scopes = metadata_of(yaml.safe_load(path.read_text()))
    legacy = Settings(legacy_wire="v7")
    topics = legacy.legacy_topics
    assert topics is not None
    inputs = [topics.payment_succeeded, topics.deduct_rejected]
    dead_letters = [legacy.dead_letter_topic(topic) for topic in inputs]
    granted = {
        key: set(scopes[key].removeprefix("product-service=").split(","))
        for key in ("publishingScopes", "subscriptionScopes", "protectedTopics")
    }
    assert {topics.deduct_succeeded, topics.deduct_refused, *dead_letters, *inputs} <= granted[
        "publishingScopes"
    ]
    assert {*inputs, *dead_letters} <= granted["subscriptionScopes"]
    assert {*inputs, topics.deduct_succeeded, topics.deduct_refused} <= granted["protectedTopics"]
