"""The app channel only answers its own sidecar: daprd sends APP_API_TOKEN as `dapr-api-token`."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import grpc

TOKEN_HEADER = "dapr-api-token"

# daprd 1.18.3 sends the token on deliveries and invocations but not on these read-only calls
# (read in its sources: subscription discovery and the app health probe skip it), so they stay
# open; they reveal the subscribed topics and whether the app is up, and change nothing.
UNAUTHENTICATED_METHODS = frozenset(
    {
        "/dapr.proto.runtime.v1.AppCallback/ListTopicSubscriptions",
        "/dapr.proto.runtime.v1.AppCallback/ListInputBindings",
        "/dapr.proto.runtime.v1.AppCallbackHealthCheck/HealthCheck",
    }
)


def _deny(_request: Any, context: grpc.ServicerContext) -> None:
    context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong dapr-api-token")


class AppApiToken(grpc.ServerInterceptor):  # type: ignore[misc]
    """Refuses every call whose `dapr-api-token` metadata is not the configured token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("an empty app API token would let anyone in")
        self._token = token.encode()
        self._denied = grpc.unary_unary_rpc_method_handler(_deny)

    def intercept_service(
        self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        if details.method in UNAUTHENTICATED_METHODS:
            return continuation(details)
        supplied = next((v for k, v in details.invocation_metadata or () if k == TOKEN_HEADER), "")
        supplied_bytes = supplied.encode() if isinstance(supplied, str) else bytes(supplied)
        if hmac.compare_digest(supplied_bytes, self._token):
            return continuation(details)
        return self._denied
