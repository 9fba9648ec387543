"""The pod the Dapr sidecar injector makes of k8s/'s Deployment, and what its daprd gets.

tools/injector (`scripts/infra up injector`) runs the injector's own code of Dapr 1.18.3
(pkg/injector/patcher: the SidecarConfig built from the pod's annotations, its GetPatch) on the
pod template of the rendered `product-service` Deployment, with the injector configured as the
Dapr Helm chart configures it by default (tools/injector/main.go says which value comes from
where). This test applies the JSON patch it prints to the template itself, then checks the
injected daprd against what the project runs locally (tools/devstack/sidecar.py, dapr.yaml) and
against the rest of k8s/: app id and scopes, app channel, Configuration, app health checks,
metrics and their scrape, resources, shutdown, tokens, ports and probes, the control plane.

Every check also runs on manifests with one thing wrong (MUTATIONS) and must refuse them, so
none passes vacuously.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.sidecar import Sidecar
from product_service.infrastructure.settings import Settings
from tests.deploy.conftest import OVERLAYS, REPO_ROOT, Doc, dapr_version

pytestmark = pytest.mark.infra  # kustomize and the injector come from scripts/infra

DEPLOYMENT = "product-service"
APP_CONTAINER = "product-service"
SIDECAR = "daprd"
# The overlay the checks read: `kubernetes` plus the Prometheus Operator's objects, so the
# PodMonitor is there too (every overlay gets the same pod: test_every_overlay_gets_the_same_pod).
OVERLAY = "monitoring"


def inject(injector: str, docs: list[Doc], output: str) -> Any:
    """tools/injector on the manifests: `pod` (patched by Dapr's PatchPod) or `patch`."""
    done = subprocess.run(
        [injector, "-print", output],
        input=yaml.safe_dump_all(docs),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # A refused pod is a failed check, not an error of the test: AssertionError.
    assert done.returncode == 0, f"the injector refused the pod: {done.stderr.strip()}"
    return json.loads(done.stdout)


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def apply_patch(doc: Doc, patch: list[Doc]) -> Doc:
    """RFC 6902 for the one operation the injector uses, `add`; any other fails the test."""
    out = copy.deepcopy(doc)
    for op in patch:
        assert op["op"] == "add", f"the injector's patch does more than add: {op}"
        *parents, last = [unescape(t) for t in op["path"].split("/")[1:]]
        target: Any = out
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        value = copy.deepcopy(op["value"])
        if isinstance(target, list):
            target.append(value) if last == "-" else target.insert(int(last), value)
        else:
            target[last] = value
    return out


def parse_args(args: list[str]) -> dict[str, str | bool]:
    """daprd's command line: `--flag value` and bare boolean `--flag` (or `--flag=value`)."""
    assert args and args[0] == "/daprd", args
    flags: dict[str, str | bool] = {}
    rest = args[1:]
    i = 0
    while i < len(rest):
        token = rest[i]
        assert token.startswith("--"), f"stray argument {token!r} in {args}"
        if "=" in token:
            name, value = token.split("=", 1)
            flags[name] = value
        elif i + 1 < len(rest) and not rest[i + 1].startswith("--"):
            flags[token] = rest[i + 1]
            i += 1
        else:
            flags[token] = True
        i += 1
    return flags


QUANTITY = re.compile(r"^([0-9.]+)(m|Ki|Mi|Gi|k|M|G)?$")
SCALE = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(1000),
    "M": Decimal(1000**2),
    "G": Decimal(1000**3),
    "Ki": Decimal(1024),
    "Mi": Decimal(1024**2),
    "Gi": Decimal(1024**3),
}


def quantity(value: str | int) -> Decimal:
    match = QUANTITY.match(str(value))
    assert match, f"not a Kubernetes quantity: {value!r}"
    return Decimal(match.group(1)) * SCALE[match.group(2)]


def go_seconds(duration: str) -> float:
    """A Go duration as daprd's flags take it (10s, 1m30s, 500ms), in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"([0-9.]+)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration}"
    return sum(float(n) * units[u] for n, u in parts)


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return address == "localhost"


def env_source(container: Doc, name: str) -> Any:
    """Where a container's variable comes from: its value or valueFrom; None if not set."""
    for env in container.get("env") or []:
        if env["name"] == name:
            return env.get("valueFrom") or {"value": env.get("value")}
    return None


@dataclass
class Injected:
    """One overlay's manifests, the injector's patch for its Deployment, and the patched pod."""

    docs: list[Doc]
    patch: list[Doc]
    dapr_pod: Doc  # as tools/injector prints it (Dapr's patcher.PatchPod)

    def one(self, kind: str, name: str | None = None) -> Doc:
        found = [
            d
            for d in self.docs
            if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
        ]
        assert len(found) == 1, f"{kind} {name}: {len(found)} found"
        return found[0]

    def all(self, kind: str) -> list[Doc]:
        return [d for d in self.docs if d["kind"] == kind]

    @cached_property
    def deployment(self) -> Doc:
        return self.one("Deployment", DEPLOYMENT)

    @cached_property
    def template_pod(self) -> Doc:
        """The pod the Deployment's ReplicaSet creates, before admission."""
        template = self.deployment["spec"]["template"]
        metadata = {
            **template["metadata"],
            "namespace": self.deployment["metadata"].get("namespace", "default"),
            "generateName": DEPLOYMENT + "-",
        }
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}

    @cached_property
    def pod(self) -> Doc:
        """The template with the injector's patch applied by this test."""
        return apply_patch(self.template_pod, self.patch)

    @property
    def spec(self) -> Doc:
        spec: Doc = self.pod["spec"]
        return spec

    def container(self, name: str) -> Doc:
        [found] = [c for c in self.spec["containers"] if c["name"] == name]
        return found

    @property
    def app(self) -> Doc:
        return self.container(APP_CONTAINER)

    @property
    def daprd(self) -> Doc:
        return self.container(SIDECAR)

    @cached_property
    def args(self) -> dict[str, str | bool]:
        return parse_args(self.daprd.get("command", []) + self.daprd["args"])

    def arg(self, flag: str) -> str:
        value = self.args.get(flag)
        assert isinstance(value, str), f"daprd gets no {flag} value: {self.daprd['args']}"
        return value

    @property
    def annotations(self) -> dict[str, str]:
        annotations: dict[str, str] = self.pod["metadata"]["annotations"]
        return annotations

    @property
    def settings(self) -> dict[str, str]:
        """The app's settings: the generated ConfigMap, then the container's own env."""
        data: dict[str, str] = dict(self.one("ConfigMap")["data"])
        data.update({e["name"]: e["value"] for e in self.app.get("env") or [] if "value" in e})
        return data

    def ports(self, container: Doc) -> dict[str, int]:
        return {
            p.get("name", str(p["containerPort"])): p["containerPort"]
            for p in container.get("ports") or []
        }

    def named_port(self, container: Doc, port: str | int) -> int:
        if isinstance(port, int):
            return port
        ports = self.ports(container)
        assert port in ports, f"container {container['name']} has no port {port!r}: {ports}"
        return ports[port]


def injected_from(injector: str, docs: list[Doc]) -> Injected:
    return Injected(
        docs=docs, patch=inject(injector, docs, "patch"), dapr_pod=inject(injector, docs, "pod")
    )


@pytest.fixture(scope="module")
def injected_overlays(rendered: dict[str, list[Doc]], injector: str) -> dict[str, Injected]:
    return {overlay: injected_from(injector, rendered[overlay]) for overlay in OVERLAYS}


@pytest.fixture(scope="module")
def injected(injected_overlays: dict[str, Injected]) -> Injected:
    return injected_overlays[OVERLAY]


# ---- the checks: each raises AssertionError when the pod or the manifests are wrong -----------


def check_sidecar_is_injected(w: Injected) -> None:
    """The patch only adds: the daprd container, its token volume, labels, the app's env; and
    applied here it gives the pod Dapr's own PatchPod gives. daprd is the Dapr that the project
    runs locally (tools/daprd pins it), as an ordinary container beside the app."""
    paths = [op["path"] for op in w.patch]
    assert paths.count("/spec/containers/-") == 1, paths
    index = w.template_pod["spec"]["containers"].index(
        next(c for c in w.template_pod["spec"]["containers"] if c["name"] == APP_CONTAINER)
    )
    allowed = re.compile(
        rf"^/spec/containers/-$|^/spec/volumes(/-)?$|^/metadata/labels/[^/]+$"
        rf"|^/spec/containers/{index}/env(/-)?$"
    )
    assert all(allowed.match(p) for p in paths), paths
    assert [c["name"] for c in w.spec["containers"]] == [APP_CONTAINER, SIDECAR]
    assert not w.spec.get("initContainers"), "daprd belongs beside the app, not before it"
    for part in ("containers", "volumes"):
        assert w.spec[part] == w.dapr_pod["spec"][part], part
    assert w.pod["metadata"]["labels"] == w.dapr_pod["metadata"]["labels"]
    assert w.daprd["image"] == f"ghcr.io/dapr/daprd:{dapr_version().removeprefix('v')}"
    assert w.arg("--mode") == "kubernetes"


def check_app_id(w: Injected) -> None:
    """App id `product-service`: the annotation, daprd's --app-id, the label, the app's own
    default, and the scopes of every Dapr component and policy (else daprd loads none)."""
    app_id = w.arg("--app-id")
    assert app_id == "product-service" == w.annotations["dapr.io/app-id"]
    assert w.pod["metadata"]["labels"]["dapr.io/app-id"] == app_id
    assert Settings.model_fields["app_id"].default == app_id
    assert "PRODUCT_APP_ID" not in w.settings
    for doc in w.all("Component") + w.all("Resiliency"):
        assert app_id in doc["scopes"], f"{doc['kind']} {doc['metadata']['name']}: {doc['scopes']}"


def check_app_channel(w: Injected) -> None:
    """daprd calls the app's gRPC app channel where the app listens: --app-port is the app
    container's `app-grpc` port and the app's PRODUCT_GRPC_PORT, --app-protocol grpc (the app
    is told so too, APP_PROTOCOL), on loopback (the app channel binds 127.0.0.1)."""
    app_port = int(w.arg("--app-port"))
    assert app_port == w.named_port(w.app, "app-grpc") == int(w.settings["PRODUCT_GRPC_PORT"])
    assert w.arg("--app-protocol") == "grpc"
    assert env_source(w.app, "APP_PROTOCOL") == {"value": "grpc"}
    # Not set: daprd's default, 127.0.0.1. Set: must still be loopback.
    assert is_loopback(str(w.args.get("--app-channel-address", "127.0.0.1")))
    # The app finds its sidecar through the SDK's variables, set by the injector.
    assert env_source(w.app, "DAPR_GRPC_PORT") == {"value": w.arg("--dapr-grpc-port")}
    assert env_source(w.app, "DAPR_HTTP_PORT") == {"value": w.arg("--dapr-http-port")}


def check_config(w: Injected) -> None:
    """--config names the overlay's one Configuration, in the pod's namespace."""
    config = w.one("Configuration")
    assert w.arg("--config") == w.annotations["dapr.io/config"] == config["metadata"]["name"]
    assert config["metadata"].get("namespace") == w.pod["metadata"]["namespace"]


def check_app_health(w: Injected) -> None:
    """App health checks on (as dapr.yaml runs them locally), every probe interval and
    threshold as annotated, a probe timeout within the interval. Over gRPC daprd calls the
    app's HealthCheck callback; --app-health-check-path only applies to HTTP apps."""
    assert w.args.get("--enable-app-health-check") is True
    assert (
        w.arg("--app-health-probe-interval") == w.annotations["dapr.io/app-health-probe-interval"]
    )
    assert w.arg("--app-health-threshold") == w.annotations["dapr.io/app-health-threshold"]
    assert int(w.arg("--app-health-threshold")) >= 1
    timeout_ms = int(w.arg("--app-health-probe-timeout"))
    assert 0 < timeout_ms < int(w.arg("--app-health-probe-interval")) * 1000
    assert w.arg("--app-protocol") == "grpc"
    assert "dapr.io/app-health-check-path" not in w.annotations  # would mean nothing over gRPC


def check_metrics(w: Injected) -> None:
    """daprd's metrics on the annotated port, named `dapr-metrics`; the NetworkPolicies admit
    it; the PodMonitor's endpoints are named ports of the right containers."""
    assert w.args.get("--enable-metrics") is True
    metrics_port = int(w.arg("--metrics-port"))
    assert metrics_port == int(w.annotations["dapr.io/metrics-port"])
    assert w.ports(w.daprd)["dapr-metrics"] == metrics_port
    assert w.pod["metadata"]["labels"]["dapr.io/metrics-enabled"] == "true"
    ingress = w.one("NetworkPolicy", "product-service")["spec"]["ingress"]
    assert metrics_port in {p["port"] for rule in ingress for p in rule["ports"]}
    monitors = w.all("PodMonitor")
    if not monitors:
        return
    [monitor] = monitors
    owners = {"http": w.app, "dapr-metrics": w.daprd}
    scraped = set()
    for endpoint in monitor["spec"]["podMetricsEndpoints"]:
        port = endpoint["port"]
        holders = [c["name"] for c in w.spec["containers"] if port in w.ports(c)]
        assert holders == [owners[port]["name"]], f"PodMonitor port {port}: {holders}"
        scraped.add(w.ports(owners[port])[port])
    assert metrics_port in scraped
    scrape = w.one("NetworkPolicy", "product-service-scrape")["spec"]["ingress"]
    assert {p["port"] for rule in scrape for p in rule["ports"]} == scraped


def check_resources(w: Injected) -> None:
    """daprd's requests and limits are the annotated ones, each request within its limit."""
    resources = w.daprd.get("resources") or {}
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            wanted = w.annotations[f"dapr.io/sidecar-{resource}-{kind[:-1]}"]
            got = (resources.get(kind) or {}).get(resource)
            assert got is not None and quantity(got) == quantity(wanted), (kind, resource, got)
    for resource in ("cpu", "memory"):
        assert quantity(resources["requests"][resource]) <= quantity(resources["limits"][resource])


def check_shutdown(w: Injected) -> None:
    """SIGTERM reaches app and daprd at once. daprd waits for the answers to deliveries in
    flight for --dapr-graceful-shutdown-seconds, longer than the app takes to finish them
    (PRODUCT_SHUTDOWN_GRACE_SECONDS); the pod's terminationGracePeriodSeconds is longer still
    (and covers a --dapr-block-shutdown-duration too, when one is set)."""
    graceful = int(w.arg("--dapr-graceful-shutdown-seconds"))
    assert graceful == int(w.annotations["dapr.io/graceful-shutdown-seconds"])
    assert graceful > float(w.settings["PRODUCT_SHUTDOWN_GRACE_SECONDS"])
    block = w.args.get("--dapr-block-shutdown-duration")
    blocked = go_seconds(block) if isinstance(block, str) else 0.0
    assert w.spec["terminationGracePeriodSeconds"] > blocked + graceful


def check_tokens(w: Injected) -> None:
    """The API token (DAPR_API_TOKEN) and the app token (APP_API_TOKEN) the local profile uses:
    whichever one daprd gets, the app gets from the same Secret key, and the other way round.
    k8s/ sets neither, which is sound only because nothing outside the pod reaches either side:
    daprd's API listens on loopback only, the app channel too (check_app_channel), and the pod
    holds no other container and not the host's network."""
    for variable in ("DAPR_API_TOKEN", "APP_API_TOKEN"):
        assert env_source(w.daprd, variable) == env_source(w.app, variable), variable
    if env_source(w.daprd, "DAPR_API_TOKEN") is None:
        addresses = w.arg("--dapr-listen-addresses").split(",")
        assert all(is_loopback(a) for a in addresses), addresses
        assert [c["name"] for c in w.spec["containers"]] == [APP_CONTAINER, SIDECAR]
        assert not w.spec.get("hostNetwork")


def check_ports_and_probes(w: Injected) -> None:
    """No port is used twice in the pod (one network namespace); each container's probes hit its
    own ports; daprd's on its public port (/v1.0/healthz, as annotated), the app's on its HTTP
    port (/healthz, /readyz); the NetworkPolicy opens exactly daprd's internal gRPC port (other
    sidecars), daprd's metrics and the app's HTTP port, not the app channel."""
    app_ports = set(w.ports(w.app).values())
    public = int(w.arg("--dapr-public-port"))
    daprd_ports = set(w.ports(w.daprd).values()) | {public}
    assert len(w.ports(w.daprd)) == 4 and public not in w.ports(w.daprd).values()
    assert not app_ports & daprd_ports, app_ports & daprd_ports
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        handler = w.app[probe]["httpGet"]
        assert w.named_port(w.app, handler["port"]) == w.named_port(w.app, "http"), probe
    assert w.app["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert w.app["readinessProbe"]["httpGet"]["path"] == "/readyz"
    readiness, liveness = w.daprd["readinessProbe"], w.daprd["livenessProbe"]
    assert readiness["httpGet"] == {"path": "/v1.0/healthz", "port": public}
    assert liveness["tcpSocket"] == {"port": public}
    delay = w.annotations["dapr.io/sidecar-readiness-probe-delay-seconds"]
    assert str(readiness["initialDelaySeconds"]) == delay
    ingress = w.one("NetworkPolicy", "product-service")["spec"]["ingress"]
    opened = {p["port"] for rule in ingress for p in rule["ports"]}
    wanted = {
        int(w.arg("--dapr-internal-grpc-port")),
        int(w.arg("--metrics-port")),
        w.named_port(w.app, "http"),
    }
    assert opened == wanted, (opened, wanted)
    assert int(w.arg("--app-port")) not in opened


def check_no_kubernetes_api_token(w: Injected) -> None:
    """The pod mounts no Kubernetes API token, so daprd must not load the built-in `kubernetes`
    secret store (its init needs one; daprd exits when it fails): the secretKeyRefs of the
    components are resolved by the Dapr operator, and no component is such a store itself."""
    account = w.one("ServiceAccount", w.spec["serviceAccountName"])
    automount = w.spec.get(
        "automountServiceAccountToken", account.get("automountServiceAccountToken")
    )
    if automount is False:
        assert w.args.get("--disable-builtin-k8s-secret-store") is True, w.daprd["args"]
        types = {c["spec"]["type"] for c in w.all("Component")}
        assert "secretstores.kubernetes" not in types, types


def check_control_plane(w: Injected) -> None:
    """daprd talks to the Helm chart's control plane, with mTLS as the Configuration says:
    the Sentry address and trust domain the Configuration names are the ones daprd gets, and the
    control-plane namespace is the one the NetworkPolicy lets the pod reach."""
    mtls = w.one("Configuration")["spec"]["mtls"]
    assert (w.args.get("--enable-mtls") is True) == mtls["enabled"]
    assert w.arg("--sentry-address") == mtls["sentryAddress"]
    trust_domain = env_source(w.daprd, "DAPR_CONTROLPLANE_TRUST_DOMAIN")
    assert trust_domain == {"value": mtls["controlPlaneTrustDomain"]}
    namespace = env_source(w.daprd, "DAPR_CONTROLPLANE_NAMESPACE")["value"]
    egress = w.one("NetworkPolicy", "product-service")["spec"]["egress"]
    reachable = {
        peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name")
        for rule in egress
        for peer in rule.get("to", [])
        if "namespaceSelector" in peer and "podSelector" not in peer
    }
    assert namespace in reachable, (namespace, reachable)
    for flag in ("--control-plane-address", "--sentry-address", "--placement-host-address"):
        assert f".{namespace}.svc." in w.arg(flag), flag
    assert env_source(w.daprd, "NAMESPACE") == {"value": w.pod["metadata"]["namespace"]}


# The local sidecar's flags that the pod's daprd does not get, and why.
LOCAL_ONLY_FLAGS = {
    "--resources-path": "in a cluster the operator hands daprd its components",
    "--app-channel-address": "locally 127.0.0.1 given; in the pod daprd's default, 127.0.0.1",
}
# Given to both with the same value. The others differ by design: --mode (standalone,
# kubernetes), --config (a file, a Configuration's name), --placement-host-address (empty: no
# control plane locally), the ports (free ones locally), --dapr-listen-addresses (loopback both).
SAME_VALUE_FLAGS = ("--app-id", "--app-protocol", "--app-port", "--log-level")


def check_local_profile(w: Injected) -> None:
    """The pod's daprd runs as the local profile's do: every flag devstack gives its sidecars
    (tools/devstack/sidecar.py) is given here too (LOCAL_ONLY_FLAGS: why not), with the same
    app id, protocol, app port and log level (SAME_VALUE_FLAGS); and dapr.yaml's app is this
    pod's app."""
    local = parse_args(
        [
            "/daprd",
            *Sidecar(
                DEPLOYMENT,
                "daprd",
                Path("resources"),
                Path("config.yaml"),
                Path("run"),
                app_port=int(w.settings["PRODUCT_GRPC_PORT"]),
            ).command()[1:],
        ]
    )
    assert sorted(set(local) - set(w.args)) == sorted(LOCAL_ONLY_FLAGS)
    for flag in SAME_VALUE_FLAGS:
        assert local[flag] == w.args[flag], flag
    assert local["--mode"] == "standalone" and w.args["--mode"] == "kubernetes"
    addresses = [str(local["--dapr-listen-addresses"]), w.arg("--dapr-listen-addresses")]
    assert all(is_loopback(a) for both in addresses for a in both.split(",")), addresses
    run = yaml.safe_load((REPO_ROOT / "dapr.yaml").read_text())
    [app] = [a for a in run["apps"] if a["appID"] == w.arg("--app-id")]
    assert str(app["appPort"]) == w.arg("--app-port") == app["env"]["PRODUCT_GRPC_PORT"]
    assert run["common"]["appProtocol"] == w.arg("--app-protocol")
    assert run["common"]["enableAppHealthCheck"] is (
        w.args.get("--enable-app-health-check") is True
    )


CHECKS: list[Callable[[Injected], None]] = [
    check_sidecar_is_injected,
    check_app_id,
    check_app_channel,
    check_config,
    check_app_health,
    check_metrics,
    check_resources,
    check_shutdown,
    check_tokens,
    check_ports_and_probes,
    check_no_kubernetes_api_token,
    check_control_plane,
    check_local_profile,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_the_injected_pod(injected: Injected, check: Callable[[Injected], None]) -> None:
    check(injected)


def test_every_overlay_gets_the_same_pod(injected_overlays: dict[str, Injected]) -> None:
    pods = {overlay: w.dapr_pod for overlay, w in injected_overlays.items()}
    assert all(pod == pods["kubernetes"] for pod in pods.values())
    assert injected_overlays["kubernetes"].pod == injected_overlays[OVERLAY].pod


# ---- each check refuses manifests with one thing wrong --------------------------------------


def annotate(key: str, value: str | None) -> Callable[[list[Doc]], None]:
    """The Deployment's pod annotation `key` set to value (None: removed)."""

    def mutate(docs: list[Doc]) -> None:
        [deployment] = [d for d in docs if d["kind"] == "Deployment"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        if value is None:
            annotations.pop(key)
        else:
            annotations[key] = value

    return mutate


def configure(path: str, value: Any) -> Callable[[list[Doc]], None]:
    """One field of the Configuration set, `a.b.c`."""

    def mutate(docs: list[Doc]) -> None:
        [config] = [d for d in docs if d["kind"] == "Configuration"]
        *parents, last = path.split(".")
        target = config
        for key in parents:
            target = target[key]
        target[last] = value

    return mutate


def add_app_port(docs: list[Doc]) -> None:
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    [app] = deployment["spec"]["template"]["spec"]["containers"]
    app["ports"].append({"name": "debug", "containerPort": 3501, "protocol": "TCP"})


def shorter_grace(docs: list[Doc]) -> None:
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 20


MUTATIONS: list[tuple[str, Callable[[list[Doc]], None], Callable[[Injected], None]]] = [
    ("dapr not enabled", annotate("dapr.io/enabled", "false"), check_sidecar_is_injected),
    (
        "older sidecar image",
        annotate("dapr.io/sidecar-image", "ghcr.io/dapr/daprd:1.17.0"),
        check_sidecar_is_injected,
    ),
    (
        "native sidecar",
        annotate("dapr.io/enable-native-sidecar", "true"),
        check_sidecar_is_injected,
    ),
    ("other app id", annotate("dapr.io/app-id", "products"), check_app_id),
    ("wrong app port", annotate("dapr.io/app-port", "50052"), check_app_channel),
    ("http app protocol", annotate("dapr.io/app-protocol", "http"), check_app_channel),
    (
        "app channel elsewhere",
        annotate("dapr.io/app-channel-address", "10.0.0.1"),
        check_app_channel,
    ),
    ("other config", annotate("dapr.io/config", "daprsystem"), check_config),
    ("health checks off", annotate("dapr.io/enable-app-health-check", "false"), check_app_health),
    ("interval with a unit", annotate("dapr.io/app-health-probe-interval", "5s"), check_app_health),
    ("threshold not a number", annotate("dapr.io/app-health-threshold", "three"), check_app_health),
    (
        "probe timeout too long",
        annotate("dapr.io/app-health-probe-timeout", "5000"),
        check_app_health,
    ),
    ("metrics off", annotate("dapr.io/enable-metrics", "false"), check_metrics),
    ("metrics port not scraped", annotate("dapr.io/metrics-port", "9091"), check_metrics),
    ("cpu limit below request", annotate("dapr.io/sidecar-cpu-limit", "50m"), check_resources),
    ("memory limit unparsable", annotate("dapr.io/sidecar-memory-limit", "256MB"), check_resources),
    (
        "graceful shutdown beyond the pod's grace",
        annotate("dapr.io/graceful-shutdown-seconds", "45"),
        check_shutdown,
    ),
    (
        "graceful shutdown shorter than the app's drain",
        annotate("dapr.io/graceful-shutdown-seconds", "15"),
        check_shutdown,
    ),
    (
        "blocked shutdown beyond the pod's grace",
        annotate("dapr.io/block-shutdown-duration", "20s"),
        check_shutdown,
    ),
    ("pod grace too short", shorter_grace, check_shutdown),
    (
        "API token for daprd only",
        annotate("dapr.io/api-token-secret", "product-dapr-api"),
        check_tokens,
    ),
    (
        "app token for daprd only",
        annotate("dapr.io/app-token-secret", "product-dapr-app"),
        check_tokens,
    ),
    (
        "API open beyond the pod without a token",
        annotate("dapr.io/sidecar-listen-addresses", "0.0.0.0"),
        check_tokens,
    ),
    (
        "metrics port on the app's port",
        annotate("dapr.io/metrics-port", "8080"),
        check_ports_and_probes,
    ),
    ("app port on daprd's public port", add_app_port, check_ports_and_probes),
    (
        "internal gRPC port not opened",
        annotate("dapr.io/internal-grpc-port", "50003"),
        check_ports_and_probes,
    ),
    (
        "sidecar readiness delay unparsable",
        annotate("dapr.io/sidecar-readiness-probe-delay-seconds", "3s"),
        check_ports_and_probes,
    ),
    (
        "built-in Kubernetes secret store loaded",
        annotate("dapr.io/disable-builtin-k8s-secret-store", None),
        check_no_kubernetes_api_token,
    ),
    (
        "Sentry elsewhere",
        configure("spec.mtls.sentryAddress", "sentry.dapr.svc.cluster.local:443"),
        check_control_plane,
    ),
    (
        "other trust domain",
        configure("spec.mtls.controlPlaneTrustDomain", "example.org"),
        check_control_plane,
    ),
    ("mTLS off in the Configuration", configure("spec.mtls.enabled", False), check_control_plane),
    ("debug logs", annotate("dapr.io/log-level", "debug"), check_local_profile),
]


@pytest.mark.parametrize(
    ("mutate", "check"),
    [pytest.param(m, c, id=f"{c.__name__[len('check_') :]}: {name}") for name, m, c in MUTATIONS],
)
def test_each_check_refuses_a_wrong_manifest(
    rendered: dict[str, list[Doc]],
    injector: str,
    mutate: Callable[[list[Doc]], None],
    check: Callable[[Injected], None],
) -> None:
    docs = copy.deepcopy(rendered[OVERLAY])
    mutate(docs)
    with pytest.raises(AssertionError):
        check(injected_from(injector, docs))


def test_every_check_has_a_mutation_it_refuses() -> None:
    assert {c for _, _, c in MUTATIONS} == set(CHECKS)
