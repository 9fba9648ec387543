"""Render a profile of components/ for one app, with overrides, into a run directory.

The files in components/<profile>/ stay directly usable by daprd; what changes per run (consumer
group, broker addresses, the name-resolution file) is applied to copies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

COMPONENTS_ROOT = Path(__file__).resolve().parents[2] / "components"
CONFIG_FILE = "config.yaml"
# A profile is components/<profile>/: config.yaml, shared/ (every app's resources) and
# <app-id>/ (one app's own). No resources folder holds a sub-folder: daprd warns about every
# entry of a resources path that is not YAML, folders included.
SHARED_DIR = "shared"
RESOURCE_KINDS = ("Component", "Resiliency", "Subscription")

Doc = dict[str, Any]


@dataclass(frozen=True)
class Overrides:
    """Per-run changes: component name -> metadata item name -> value; the sqlite NR file."""

    metadata: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    name_resolution_db: Path | None = None
    otel_endpoint: str | None = None
    sampling_rate: str | None = None  # the Configuration's tracing.samplingRate ("1": all)
    # Contract topic name -> this run's topic name, applied to the pub/sub topic scopes.
    topic_wire: Callable[[str], str] | None = None
    # Replaces items of the Resiliency's inbound retry policy, e.g. {"maxRetries": 3}: a test
    # that needs messages dead-lettered within seconds instead of minutes.
    inbound_retry: Mapping[str, object] = field(default_factory=dict)


# Pub/sub metadata whose values name topics: "app=topic,topic;app2=topic" or "topic,topic".
TOPIC_SCOPE_KEYS = ("publishingScopes", "subscriptionScopes", "protectedTopics", "allowedTopics")


def rename_scoped_topics(doc: Doc, wire: Callable[[str], str]) -> Doc:
    """Rewrite topic names inside the topic-scope metadata of a pub/sub Component."""
    for item in (doc.get("spec") or {}).get("metadata") or []:
        if item.get("name") in TOPIC_SCOPE_KEYS and isinstance(item.get("value"), str):
            item["value"] = re.sub(r"[^=,;\s]+", lambda m: _rename(m.group(), wire), item["value"])
    return doc


def _rename(token: str, wire: Callable[[str], str]) -> str:
    """A contract topic, or one with a suffix such as `.dead-letter`, gets this run's name."""
    base, dot, rest = token.partition(".")
    return wire(base) + dot + rest


def resource_dirs(profile_dir: Path, app_id: str) -> list[Path]:
    """What daprd gets as --resources-path for app_id: the shared folder, then the app's own."""
    return [d for d in (profile_dir / SHARED_DIR, profile_dir / app_id) if d.is_dir()]


def load_resources(profile_dir: Path, app_id: str) -> list[Doc]:
    """The profile's resources (shared folder plus the app's own folder) in scope for app_id."""
    files = [path for d in resource_dirs(profile_dir, app_id) for path in sorted(d.glob("*.yaml"))]
    docs: list[Doc] = []
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if (
                isinstance(doc, dict)
                and doc.get("kind") in RESOURCE_KINDS
                and in_scope(doc, app_id)
            ):
                docs.append(doc)
    return docs


def in_scope(doc: Doc, app_id: str) -> bool:
    scopes = doc.get("scopes") or []
    return not scopes or app_id in scopes


def apply_metadata(doc: Doc, values: Mapping[str, str]) -> Doc:
    """Set metadata items of a Component (replacing same-named items, appending new ones)."""
    spec = doc.setdefault("spec", {})
    items = [dict(item) for item in spec.get("metadata") or []]
    for name, value in values.items():
        for item in items:
            if item.get("name") == name:
                item["value"] = value
                break
        else:
            items.append({"name": name, "value": value})
    spec["metadata"] = items
    return doc


def apply_config(config: Doc, overrides: Overrides) -> Doc:
    spec = config.setdefault("spec", {})
    nr = spec.get("nameResolution") or {}
    conf = nr.get("configuration") or {}
    if nr.get("component") == "sqlite" and overrides.name_resolution_db is not None:
        if not str(conf.get("connectionString", "")).startswith(":memory:"):
            conf["connectionString"] = str(overrides.name_resolution_db)
            nr["configuration"] = conf
    tracing = spec.get("tracing") or {}
    otel = tracing.get("otel")
    if otel is not None and overrides.otel_endpoint is not None:
        otel["endpointAddress"] = overrides.otel_endpoint
    if "samplingRate" in tracing and overrides.sampling_rate is not None:
        tracing["samplingRate"] = overrides.sampling_rate
    return config


def render(profile: str, app_id: str, dest: Path, overrides: Overrides) -> tuple[Path, Path]:
    """Write the app's resources to dest/resources/ and its Configuration to dest/config.yaml."""
    profile_dir = COMPONENTS_ROOT / profile
    if not profile_dir.is_dir():
        raise ValueError(f"unknown profile {profile!r}: no folder {profile_dir}")
    resources = dest / "resources"
    resources.mkdir(parents=True, exist_ok=True)
    for stale in resources.glob("*.yaml"):
        stale.unlink()
    for doc in load_resources(profile_dir, app_id):
        name = doc.get("metadata", {}).get("name")
        if doc["kind"] == "Component" and name in overrides.metadata:
            doc = apply_metadata(doc, overrides.metadata[name])
        if doc["kind"] == "Component" and overrides.topic_wire is not None:
            doc = rename_scoped_topics(doc, overrides.topic_wire)
        if doc["kind"] == "Resiliency" and overrides.inbound_retry:
            doc["spec"]["policies"]["retries"]["inbound"].update(overrides.inbound_retry)
        # One resource per file: daprd 1.18 reads a Resiliency only from the first document of
        # a file, so a multi-document file would silently drop the retry policies.
        path = resources / f"{doc['kind'].lower()}-{name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    config = apply_config(yaml.safe_load((profile_dir / CONFIG_FILE).read_text()), overrides)
    config_path = dest / CONFIG_FILE
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return resources, config_path
