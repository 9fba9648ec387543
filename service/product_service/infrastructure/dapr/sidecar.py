"""One connection to the Dapr sidecar, opened on first use, with a deadline on every call."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import grpc
from dapr.clients import DaprClient
from dapr.clients.http.helpers import get_api_url
from dapr.conf import settings as dapr_settings

from product_service.infrastructure.telemetry import traced_metadata


class _Deadline(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """A sidecar that hangs must not hang the handler: every call gets a timeout."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Any], details: Any, request: Any
    ) -> Any:
        if details.timeout is None:
            details = details._replace(timeout=self._seconds)
        return continuation(details, request)


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
        self._timeout = call_timeout_seconds
        # DaprClient() polls the sidecar's health for DAPR_HEALTH_TIMEOUT (60 s by default)
        # while callers wait on the guard below; bound that wait by our call deadline.
        dapr_settings.DAPR_HEALTH_TIMEOUT = call_timeout_seconds  # type: ignore[attr-defined]
        self._client: DaprClient | None = None
        self._guard = threading.Lock()

    @property
    def client(self) -> DaprClient:
        with self._guard:
            if self._client is None:
                self._client = DaprClient(interceptors=[_Deadline(self._timeout), _TraceContext()])
            return self._client

    @property
    def stub(self) -> Any:
        """The client's generated stub, for calls the SDK wraps without what we need (bulk
        publish with metadata per entry); it carries the client's interceptors and token."""
        return self.client._stub  # noqa: SLF001

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
