"""What we commit holds no secret, and the image does not run as root."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
YAML_FILES = sorted(
    [*ROOT.glob("components/**/*.yaml"), *ROOT.glob("k8s/**/*.yaml"), ROOT / "dapr.yaml"]
)
SECRET_NAME = re.compile(r"password|passwd|secret|token|credential|saslPassword", re.IGNORECASE)
URL_WITH_CREDENTIALS = re.compile(r"[a-z+]+://[^/\s:@]+:[^/\s@]+@")


def documents() -> list[tuple[Path, dict[str, object]]]:
    return [
        (path, doc)
        for path in YAML_FILES
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict)
    ]


def test_there_are_yaml_files_to_check() -> None:
    assert len(YAML_FILES) >= 10


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_url_with_credentials(path: Path) -> None:
    assert not URL_WITH_CREDENTIALS.search(path.read_text())


def test_secret_looking_component_metadata_comes_from_a_secret_store() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {doc['metadata']['name']}.{item['name']}"  # type: ignore[index]
        for path, doc in documents()
        if doc.get("kind") == "Component"
        for item in (doc.get("spec") or {}).get("metadata") or []  # type: ignore[union-attr]
        if SECRET_NAME.search(str(item.get("name"))) and "value" in item
    ]
    assert offenders == []


def test_no_kubernetes_secret_is_committed() -> None:
    assert [str(p) for p, doc in documents() if doc.get("kind") == "Secret"] == []


def test_the_image_runs_as_a_non_root_user() -> None:
    users = re.findall(r"^USER\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert users, "the Dockerfile sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
