"""Imports point inward (DESIGN.md section 3), and no module of ours imports itself back."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import product_service

PACKAGE = Path(product_service.__file__).parent
GENERATED = (PACKAGE / "contract" / "product", PACKAGE / "contract" / "legacy")


def _modules() -> dict[str, set[str]]:
    """Every hand-written module of the service and the modules it imports, anywhere in it."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if any(generated in path.parents for generated in GENERATED):
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = imported
    return graph


MODULES = _modules()
OURS = "product_service"


def _layer(name: str) -> str:
    return name.split(".")[1] if name.count(".") else ""


def _ours(imported: set[str]) -> set[str]:
    return {name for name in imported if name in MODULES}


@pytest.mark.parametrize(
    ("layer", "allowed"),
    [
        ("domain", {"domain"}),
        ("application", {"domain", "application"}),
        ("infrastructure", {"domain", "application", "infrastructure", "contract"}),
        ("contract", {"contract"}),
    ],
)
def test_each_layer_imports_only_the_layers_inside_it(layer: str, allowed: set[str]) -> None:
    outward = {
        f"{name} imports {imported}"
        for name, imports in MODULES.items()
        if _layer(name) == layer
        for imported in imports
        if imported.startswith(f"{OURS}.") and _layer(imported) not in allowed
    }
    assert outward == set()


def test_the_domain_needs_nothing_but_the_standard_library() -> None:
    foreign = {
        f"{name} imports {imported}"
        for name, imports in MODULES.items()
        if _layer(name) == "domain"
        for imported in imports
        if imported.split(".")[0] not in (*sys.stdlib_module_names, OURS)
    }
    assert foreign == set()


def test_no_module_imports_itself_back() -> None:
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        for imported in sorted(_ours(MODULES[name])):
            if imported in path:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in done:
                visit(imported, [*path, imported])
        done.add(name)

    for name in sorted(MODULES):
        if name not in done:
            visit(name, [name])
    assert cycles == []
