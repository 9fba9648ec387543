"""The Dapr resources of k8s/, turned into ones a daprd on this machine can load.

What changes, and only that: cluster addresses become the loopback ones of `scripts/infra`
(Kafka, Redis, Jaeger); Kafka's SASL login is switched off (`authType: none`: the local broker
has no SASL listener; the credentials are still resolved from the secret store); Kubernetes
name resolution (cluster DNS) becomes the resolver the caller asks for. The `secretKeyRef`s
stay: in a cluster they resolve through the built-in Kubernetes secret store, named
`kubernetes`; here a `secretstores.local.file` component of that same name serves the same
secret names and keys from a JSON file, so the components load as written.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import Doc, is_dapr

SECRET_STORE = "kubernetes"
# Secret name -> key -> value, as `kubectl create secret generic` would hold them.
SECRETS = {
    "product-kafka": {"username": "product-service", "password": "not-used-locally"},
    "product-redis": {"password": ""},
}


def set_metadata(doc: Doc, name: str, value: str) -> None:
    for item in doc["spec"]["metadata"]:
        if item["name"] == name:
            item.pop("secretKeyRef", None)
            item["value"] = value
            return
    doc["spec"]["metadata"].append({"name": name, "value": value})


def loopback_resources(
    docs: list[Doc],
    kafka: str,
    redis: str,
    otel: str,
    name_resolution: dict[str, Any],
) -> tuple[list[Doc], Doc]:
    """(Components, Resiliency), and the Configuration, for loopback. k8s/ has no Subscription:
    the app declares its subscriptions itself, on the topics of its settings."""
    resources: list[Doc] = []
    config: Doc | None = None
    for original in docs:
        if not is_dapr(original):
            continue
        doc = copy.deepcopy(original)
        doc["metadata"].pop("namespace", None)
        if doc["kind"] == "Configuration":
            doc["spec"]["tracing"]["otel"]["endpointAddress"] = otel
            doc["spec"]["nameResolution"] = name_resolution
            config = doc
            continue
        if doc["kind"] == "Component" and doc["spec"]["type"] == "pubsub.kafka":
            set_metadata(doc, "brokers", kafka)
            set_metadata(doc, "authType", "none")
        if doc["kind"] == "Component" and doc["spec"]["type"] == "lock.redis":
            set_metadata(doc, "redisHost", redis)
        resources.append(doc)
    assert config is not None, "no Configuration rendered"
    return resources, config


def write_resources(resources: list[Doc], config: Doc, dest: Path) -> tuple[Path, Path]:
    """One resource per file (daprd 1.18 reads a Resiliency only from a file's first
    document), plus the local secret store; returns (resources dir, config file)."""
    folder = dest / "resources"
    folder.mkdir(parents=True, exist_ok=True)
    secrets_file = dest / "secrets.json"
    secrets_file.write_text(json.dumps(SECRETS))
    store = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": SECRET_STORE},
        "spec": {
            "type": "secretstores.local.file",
            "version": "v1",
            "metadata": [
                {"name": "secretsFile", "value": str(secrets_file)},
                {"name": "multiValued", "value": "true"},
            ],
        },
    }
    for doc in [store, *resources]:
        path = folder / f"{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    config_path = dest / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return folder, config_path
