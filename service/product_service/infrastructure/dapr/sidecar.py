"""One connection to the Dapr sidecar, opened on first use, with a deadline on every call."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import grpc
from dapr.clients import DaprClient
from dapr.clients.http.helpers import get_api_url

from product_service.infrastructure.dapr import sdk_gaps
from product_service.infrastructure.telemetry import traced_metadata


class _TraceContext(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Carries the current span to the sidecar, so its publish span joins our trace."""

    def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Any], details: Any, request: Any
    ) -> Any:
        extra = traced_metadata()
        if extra:
            details = details._replace(metadata=[*(details.metadata or []), *extra])
        return continuation(details, request)


class Sidecar:
    """Creating a DaprClient waits for the sidecar, so it happens lazily, once, under a lock."""

    def __init__(self, call_timeout_seconds: float) -> None:
        # The deadline of every call, and DaprClient()'s wait for the sidecar's health while
        # callers wait on the guard below (sdk_gaps.bound_sidecar_calls says how).
        sdk_gaps.bound_sidecar_calls(call_timeout_seconds)
        self._client: DaprClient | None = None
        self._guard = threading.Lock()

    @property
    def client(self) -> DaprClient:
        with self._guard:
            if self._client is None:
                self._client = DaprClient(interceptors=[_TraceContext()])
            return self._client

    @property
    def stub(self) -> Any:
        """The client's generated stub, for calls the SDK wraps without what we need (bulk
        publish with metadata per entry); it carries the client's interceptors and token."""
        return sdk_gaps.raw_stub(self.client)

    def is_ready(self, timeout: float = 1.0) -> bool:
        """The sidecar's outbound health: its components are loaded and it can publish."""
        try:
            with urllib.request.urlopen(f"{get_api_url()}/healthz/outbound", timeout=timeout):
                return True
        except OSError:
            return False

    def close(self) -> None:
        with self._guard:
            if self._client is not None:
                self._client.close()
                self._client = None
