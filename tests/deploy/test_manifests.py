"""Every manifest that k8s/ renders is valid: Kubernetes objects against the schemas of
Kubernetes KUBERNETES_VERSION (kubernetes-validate, strict: unknown fields are errors), Dapr
resources against the openAPI schemas of Dapr's own CRDs (from the pinned Dapr module), the
Prometheus Operator's (overlay `monitoring`) against its CRDs, with unknown fields refused as
`kubectl apply --validate=strict` would. Then what the deployment promises: sidecar
annotations, probes, security context, secrets, scopes, name resolution, monitoring.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import OVERLAYS, REPO_ROOT, Doc, is_dapr, is_monitoring

pytestmark = pytest.mark.infra  # kustomize comes from scripts/infra

KUBERNETES_VERSION = "1.34.0"


def strict(schema: Any) -> Any:
    """The schema with additionalProperties: false wherever Kubernetes would drop unknown
    fields (an object schema with properties, no additionalProperties, no preserve flag)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def validate_custom(doc: Doc, crds: dict[tuple[str, str], Doc]) -> None:
    """A custom resource against its CRD's schema, unknown fields refused."""
    key = (doc["apiVersion"], doc["kind"])
    assert key in crds, f"no CRD for {key}"
    schema = strict(copy.deepcopy(crds[key]))
    # The CRD leaves metadata to the API server's ObjectMeta; check only that it is an object.
    schema["properties"]["metadata"] = {"type": "object"}
    jsonschema.Draft7Validator(schema).validate(doc)


def kube_docs(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if not is_dapr(d) and not is_monitoring(d)]


def dapr_docs(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if is_dapr(d)]


def by_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    found = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kubernetes_object_validates_against_the_kubernetes_schemas(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = kube_docs(rendered[overlay])
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "Job", "HorizontalPodAutoscaler"} <= kinds
    assert {"PodDisruptionBudget", "NetworkPolicy", "ConfigMap", "ServiceAccount"} <= kinds
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_dapr_resource_validates_against_the_dapr_crd_schema(
    rendered: dict[str, list[Doc]], dapr_crds: dict[tuple[str, str], Doc], overlay: str
) -> None:
    docs = dapr_docs(rendered[overlay])
    assert sorted(d["kind"] for d in docs) == [
        "Component",
        "Component",
        "Configuration",
        "Resiliency",
    ]
    for doc in docs:
        validate_custom(doc, dapr_crds)


def test_strict_validation_refuses_a_misspelt_field(
    rendered: dict[str, list[Doc]], dapr_crds: dict[tuple[str, str], Doc]
) -> None:
    component = copy.deepcopy(one(rendered["kubernetes"], "Component", "pubsub"))
    component["spec"]["metdata"] = component["spec"].pop("metadata")
    with pytest.raises(jsonschema.ValidationError, match="metdata"):
        validate_custom(component, dapr_crds)
    deployment = copy.deepcopy(one(rendered["kubernetes"], "Deployment"))
    deployment["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_deployment_runs_two_replicas_beside_an_injected_grpc_sidecar(
    rendered: dict[str, list[Doc]],
) -> None:
    deployment = one(rendered["kubernetes"], "Deployment", "product-service")
    assert deployment["spec"]["replicas"] == 2
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["dapr.io/enabled"] == "true"
    assert annotations["dapr.io/app-id"] == "product-service"
    assert annotations["dapr.io/app-port"] == "50051"
    assert annotations["dapr.io/app-protocol"] == "grpc"
    assert annotations["dapr.io/config"] == "product-service"
    assert annotations["dapr.io/enable-app-health-check"] == "true"
    assert annotations["dapr.io/log-as-json"] == "true"
    assert {"dapr.io/sidecar-cpu-limit", "dapr.io/sidecar-memory-limit"} <= set(annotations)
    one(rendered["kubernetes"], "Configuration", annotations["dapr.io/config"])


def test_the_container_is_probed_on_http_and_locked_down(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["kubernetes"]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    settings = one(docs, "ConfigMap")["data"]
    assert {**settings, **env}["PRODUCT_HTTP_HOST"] == "0.0.0.0"
    port = next(p for p in container["ports"] if p["name"] == "http")
    assert port["containerPort"] == int(settings["PRODUCT_HTTP_PORT"])
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"] and container["resources"]["requests"]
    secret_refs = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
    assert secret_refs == ["product-service-db"]
    assert container["args"] == ["serve"]


def test_the_operator_views_token_comes_from_a_secret(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["kubernetes"]
    [container] = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    [token] = [e for e in container["env"] if e["name"] == "PRODUCT_HTTP_TOKEN"]
    assert token["valueFrom"]["secretKeyRef"] == {
        "name": "product-service-http",
        "key": "PRODUCT_HTTP_TOKEN",
    }
    assert "PRODUCT_HTTP_TOKEN" not in one(docs, "ConfigMap")["data"]
    assert one(docs, "ConfigMap")["data"]["PRODUCT_HTTP_HOST"] == "0.0.0.0"  # not loopback


def test_the_migration_job_upgrades_the_schema_without_a_sidecar(
    rendered: dict[str, list[Doc]],
) -> None:
    job = one(rendered["kubernetes"], "Job", "product-service-migrate")
    template = job["spec"]["template"]
    assert template["metadata"]["annotations"]["dapr.io/enabled"] == "false"
    [container] = template["spec"]["containers"]
    assert container["args"] == ["db", "upgrade"]
    assert {"secretRef": {"name": "product-service-db"}} in container["envFrom"]


def test_components_are_scoped_and_read_credentials_from_secrets(
    rendered: dict[str, list[Doc]],
) -> None:
    components = by_kind(rendered["kubernetes"], "Component")
    assert {c["spec"]["type"] for c in components} == {"pubsub.kafka", "lock.redis"}
    for component in components:
        assert component["scopes"] == ["product-service"]
        assert any("secretKeyRef" in item for item in component["spec"]["metadata"])


def test_tracing_goes_to_jaeger_over_otlp_with_mtls(rendered: dict[str, list[Doc]]) -> None:
    spec = one(rendered["kubernetes"], "Configuration")["spec"]
    assert spec["tracing"]["otel"]["protocol"] == "grpc"
    assert spec["tracing"]["otel"]["endpointAddress"].endswith(":4317")
    assert spec["mtls"]["enabled"] is True


def test_the_consul_overlay_only_switches_name_resolution(
    rendered: dict[str, list[Doc]],
) -> None:
    base, consul = rendered["kubernetes"], rendered["consul"]
    assert one(base, "Configuration")["spec"]["nameResolution"]["component"] == "kubernetes"
    resolution = one(consul, "Configuration")["spec"]["nameResolution"]
    assert resolution["component"] == "consul"
    assert resolution["configuration"]["selfRegister"] is True

    def without_resolution(docs: list[Doc]) -> list[Doc]:
        docs = copy.deepcopy(docs)
        one(docs, "Configuration")["spec"].pop("nameResolution")
        return docs

    assert without_resolution(base) == without_resolution(consul)


def test_the_monitoring_overlay_adds_rules_scrapes_and_a_way_in_for_prometheus(
    rendered: dict[str, list[Doc]], monitoring_crds: dict[tuple[str, str], Doc]
) -> None:
    docs = rendered["monitoring"]
    monitoring = [d for d in docs if is_monitoring(d)]
    assert sorted(d["kind"] for d in monitoring) == ["PodMonitor", "PrometheusRule"]
    for doc in monitoring:
        validate_custom(doc, monitoring_crds)
    misspelt = copy.deepcopy(one(docs, "PrometheusRule"))
    first_rule = misspelt["spec"]["groups"][0]["rules"][0]
    first_rule["exp"] = first_rule.pop("expr")
    with pytest.raises(jsonschema.ValidationError, match="exp"):
        validate_custom(misspelt, monitoring_crds)

    def by_key(overlay_docs: list[Doc]) -> dict[tuple[str, str], Doc]:
        return {(d["kind"], d["metadata"]["name"]): d for d in kube_docs(overlay_docs)}

    with_monitoring, without = by_key(docs), by_key(rendered["kubernetes"])
    assert sorted(with_monitoring.keys() - without.keys()) == [
        ("NetworkPolicy", "product-service-scrape")
    ]
    assert {key: with_monitoring[key] for key in without} == without
    assert {d["metadata"]["namespace"] for d in docs} == {"product"}
    # The other overlays hold no Prometheus Operator kind: clusters without it can apply them.
    assert not [
        d for overlay in ("kubernetes", "consul") for d in rendered[overlay] if is_monitoring(d)
    ]


def test_the_prometheusrule_is_the_rules_file(rendered: dict[str, list[Doc]]) -> None:
    rules = yaml.safe_load(
        (REPO_ROOT / "docs" / "prometheus" / "product-service-rules.yaml").read_text()
    )
    assert one(rendered["monitoring"], "PrometheusRule")["spec"] == rules


def test_the_podmonitor_scrapes_app_and_sidecar_as_the_jobs_the_rules_name(
    rendered: dict[str, list[Doc]],
) -> None:
    docs = rendered["monitoring"]
    deployment = one(docs, "Deployment", "product-service")
    pod = deployment["spec"]["template"]
    monitor = one(docs, "PodMonitor", "product-service")["spec"]
    assert monitor["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    jobs = {
        endpoint["port"]: [
            r["replacement"] for r in endpoint["relabelings"] if r["targetLabel"] == "job"
        ]
        for endpoint in monitor["podMetricsEndpoints"]
    }
    # `dapr-metrics` is the port the injector gives daprd (dapr.io/metrics-port).
    assert jobs == {"http": ["product-service"], "dapr-metrics": ["product-service-daprd"]}
    [container] = pod["spec"]["containers"]
    assert "http" in {p["name"] for p in container["ports"]}
    rules = one(docs, "PrometheusRule")["spec"]["groups"]
    expressions = " ".join(str(r["expr"]) for group in rules for r in group["rules"])
    assert 'job="product-service"' in expressions and 'job="product-service-daprd"' in expressions
    # Prometheus, in another namespace, may reach both metrics ports.
    scrape = one(docs, "NetworkPolicy", "product-service-scrape")["spec"]
    assert scrape["podSelector"] == {"matchLabels": monitor["selector"]["matchLabels"]}
    ports = {p["port"] for rule in scrape["ingress"] for p in rule["ports"]}
    http_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    metrics_port = int(pod["metadata"]["annotations"]["dapr.io/metrics-port"])
    assert ports == {http_port, metrics_port}


# The pub/sub component states the partition count its topics are created with (k8s/ creates no
# topic; see the annotation's comment in k8s/base/dapr/pubsub.yaml).
TOPIC_PARTITIONS = "product-service/topic-partitions"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_topics_have_a_partition_for_every_replica_the_autoscaler_may_run(
    rendered: dict[str, list[Doc]], overlay: str
) -> None:
    docs = rendered[overlay]
    partitions = int(one(docs, "Component", "pubsub")["metadata"]["annotations"][TOPIC_PARTITIONS])
    hpa = one(docs, "HorizontalPodAutoscaler", "product-service")["spec"]
    deployment = one(docs, "Deployment", "product-service")
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    # Kafka gives each member of the consumer group a share of the partitions: beyond their
    # count a replica gets none (DESIGN.md section 10).
    assert hpa["minReplicas"] <= hpa["maxReplicas"] <= partitions
    assert deployment["spec"]["replicas"] <= hpa["maxReplicas"]
    # Stated where both are set: the HPA names the annotation that holds the count.
    assert TOPIC_PARTITIONS in (REPO_ROOT / "k8s" / "base" / "hpa.yaml").read_text()
