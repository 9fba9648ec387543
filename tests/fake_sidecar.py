"""An in-process fake of the sidecar's gRPC API: the calls the service makes, each answered
and recorded (its request and the deadline it came with)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from dapr.clients.health import DaprHealth
from dapr.conf import settings as dapr_settings
from dapr.proto import api_service_v1, api_v1
from google.protobuf import empty_pb2


@dataclass
class FakeSidecarApi(api_service_v1.DaprServicer):  # type: ignore[misc]
    """The four sidecar RPCs the service makes; records each call's remaining deadline."""

    deadlines: dict[str, float | None] = field(default_factory=dict)
    requests: dict[str, list[Any]] = field(default_factory=dict)

    def _seen(self, name: str, request: Any, context: grpc.ServicerContext) -> None:
        self.deadlines[name] = context.time_remaining()
        self.requests.setdefault(name, []).append(request)

    def PublishEvent(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self._seen("PublishEvent", request, context)
        return empty_pb2.Empty()

    def BulkPublishEvent(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._seen("BulkPublishEvent", request, context)
        return api_v1.BulkPublishResponse()

    def TryLockAlpha1(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._seen("TryLockAlpha1", request, context)
        return api_v1.TryLockResponse(success=True)

    def UnlockAlpha1(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._seen("UnlockAlpha1", request, context)
        return api_v1.UnlockResponse(status=api_v1.UnlockResponse.SUCCESS)


@contextmanager
def fake_sidecar(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSidecarApi]:
    """A fake sidecar that DaprClient() reaches; the SDK settings are restored afterwards."""
    api = FakeSidecarApi()
    server = grpc.server(ThreadPoolExecutor(4))
    api_service_v1.add_DaprServicer_to_server(api, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    monkeypatch.setattr(DaprHealth, "wait_for_sidecar", staticmethod(lambda: None))
    monkeypatch.setattr(dapr_settings, "DAPR_GRPC_ENDPOINT", f"127.0.0.1:{port}")
    monkeypatch.setattr(dapr_settings, "DAPR_API_TOKEN", None)
    for name in ("DAPR_API_TIMEOUT_SECONDS", "DAPR_HEALTH_TIMEOUT"):
        monkeypatch.setattr(dapr_settings, name, getattr(dapr_settings, name))
    try:
        yield api
    finally:
        server.stop(None)
