"""Build hook: generates the Python protobuf and gRPC modules from proto/ at build time.

Each top-level folder of proto/ (product/, legacy/) becomes a package of
service/product_service/contract/ (ignored by git), so wheels, editable installs and the source
tree always match the .proto files.
"""

from __future__ import annotations

import re
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PROTO_ROOT = "proto"
OUTPUT_ROOT = Path("service/product_service/contract")
# protoc writes absolute imports such as `from product.v1 import events_pb2` (a file importing
# another of its own package); inside our package they must be relative so the generated code
# never needs a sys.path entry.
_ABSOLUTE_IMPORT = re.compile(r"^from (?:product|legacy)\.\w+ import (\w+)", re.MULTILINE)


def generate(root: Path) -> list[Path]:
    from grpc_tools import protoc  # imported lazily: only the build environment has it

    protos = sorted((root / PROTO_ROOT).rglob("*.proto"))
    out = root / OUTPUT_ROOT
    args = [
        "protoc",
        f"-I{root / PROTO_ROOT}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *[str(p) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed for {', '.join(map(str, protos))}")
    roots = {out / proto.relative_to(root / PROTO_ROOT).parts[0] for proto in protos}
    generated = sorted(
        path
        for top in roots
        for pattern in ("*.py", "*.pyi")
        for path in top.rglob(pattern)
        if path.name != "__init__.py"
    )
    for path in generated:
        path.write_text(_ABSOLUTE_IMPORT.sub(r"from . import \1", path.read_text()))
    for package in {p.parent for p in generated} | roots:
        (package / "__init__.py").touch()
    return generated


class ProtoBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:  # type: ignore[type-arg]
        generate(Path(self.root))
