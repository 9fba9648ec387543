"""Every place the service goes past the public API of the Dapr Python SDK, and the check that
the installed SDK still has what these places use.

Each function here was written against, and checked in the sources of, dapr 1.18.3 and
dapr-ext-grpc 1.18.3 (CHECKED_AGAINST, which pyproject.toml and uv.lock pin). `check_sdk()`
refuses any other version and names each hook it cannot find; tests/unit/test_sdk_gaps.py fails
when a hook is renamed. Nothing else in the service touches the SDK's private parts (ruff SLF).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from importlib import metadata
from typing import Any

from dapr.clients import DaprClient
from dapr.clients.grpc.client import DaprGrpcClient
from dapr.clients.grpc.interceptors import DaprClientTimeoutInterceptor
from dapr.conf import settings as dapr_settings
from dapr.ext.grpc import App
from dapr.proto import api_service_v1, api_v1, appcallback_v1

CHECKED_AGAINST = {"dapr": "1.18.3", "dapr-ext-grpc": "1.18.3"}

# The SDK's answer to a bulk delivery of a topic it has no handler for is None (UNIMPLEMENTED).
BulkHook = Callable[
    [appcallback_v1.TopicEventBulkRequest, Any], appcallback_v1.TopicEventBulkResponse | None
]


class SdkMismatch(RuntimeError):
    """The installed Dapr SDK is not the one these workarounds were checked against."""


def check_sdk() -> None:
    """Raises SdkMismatch naming the versions found and every hook missing; call it at start-up,
    before the App and the DaprClient are built."""
    found = installed_versions()
    problems = [
        f"{name} {version} is installed, {CHECKED_AGAINST[name]} is required"
        for name, version in found.items()
        if version != CHECKED_AGAINST[name]
    ]
    problems += [f"missing: {hook}" for hook in missing_hooks()]
    if problems:
        raise SdkMismatch(
            f"the Dapr SDK does not match {__name__} (checked against "
            f"dapr {CHECKED_AGAINST['dapr']}, dapr-ext-grpc {CHECKED_AGAINST['dapr-ext-grpc']}): "
            + "; ".join(problems)
        )


def installed_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in CHECKED_AGAINST}


def missing_hooks() -> list[str]:
    """The private names this module uses that the installed SDK lacks (no sidecar needed)."""
    servicer = getattr(App(), "_servicer", None)
    servicer_type = type(servicer)
    uses = {
        "App()._servicer": servicer is not None,
        "App()._servicer._registered_topics": isinstance(
            getattr(servicer, "_registered_topics", None), list
        ),
        "App()._servicer._handle_bulk_topic_event": callable(
            getattr(servicer, "_handle_bulk_topic_event", None)
        ),
        # The hooks only matter if the servicer's own RPCs still go through them.
        "ListTopicSubscriptions reading _registered_topics": _names(
            servicer_type, "ListTopicSubscriptions", "_registered_topics"
        ),
        "OnBulkTopicEvent calling _handle_bulk_topic_event": _names(
            servicer_type, "OnBulkTopicEvent", "_handle_bulk_topic_event"
        ),
        "DaprClient._stub set by DaprGrpcClient.__init__": issubclass(DaprClient, DaprGrpcClient)
        and _names(DaprGrpcClient, "__init__", "_stub"),
        "DaprGrpcClient.__init__ installing DaprClientTimeoutInterceptor": _names(
            DaprGrpcClient, "__init__", "DaprClientTimeoutInterceptor"
        ),
        "DaprClientTimeoutInterceptor reading DAPR_API_TIMEOUT_SECONDS": _names(
            DaprClientTimeoutInterceptor, "intercept_unary_unary", "DAPR_API_TIMEOUT_SECONDS"
        ),
        "dapr.conf.settings.DAPR_HEALTH_TIMEOUT": hasattr(dapr_settings, "DAPR_HEALTH_TIMEOUT"),
        "dapr.conf.settings.DAPR_API_TIMEOUT_SECONDS": hasattr(
            dapr_settings, "DAPR_API_TIMEOUT_SECONDS"
        ),
    }
    return [hook for hook, present in uses.items() if not present]


def _names(owner: type, function: str, *names: str) -> bool:
    """Whether `owner.function`'s code refers to every one of `names` (attributes, globals)."""
    code = getattr(getattr(owner, function, None), "__code__", None)
    return code is not None and set(names) <= set(code.co_names)


def bound_sidecar_calls(seconds: float) -> None:
    """A sidecar that hangs must not hang the service: every unary call the SDK's channel
    carries gets this deadline unless it sets its own, and DaprClient() waits this long at most
    for the sidecar's health. Overrides the SDK's environment variables of the same names.

    The SDK has no per-client setting for either; it reads both from its settings object
    (dapr.conf.settings), so they hold for the process (which has one Sidecar). In dapr 1.18.3,
    DaprClientTimeoutInterceptor (dapr/clients/grpc/interceptors.py) reads
    DAPR_API_TIMEOUT_SECONDS on every call, and DaprGrpcClient.__init__ puts it on the channel
    before it builds `_stub` on that channel, so the deadline covers the calls on the raw stub
    (`bulk_publish`) and the lock calls too: it does what our own interceptor used to.
    DAPR_HEALTH_TIMEOUT (60 s by default) bounds DaprHealth.wait_for_sidecar in that __init__."""
    dapr_settings.DAPR_API_TIMEOUT_SECONDS = seconds  # type: ignore[attr-defined]
    dapr_settings.DAPR_HEALTH_TIMEOUT = seconds  # type: ignore[attr-defined]


def raw_stub(client: DaprClient) -> api_service_v1.DaprStub:
    """The client's generated stub, on the client's channel (its interceptors, deadline and API
    token), for the calls the SDK wraps without what we need. dapr 1.18.3 keeps it in `_stub`."""
    try:
        stub = client._stub  # noqa: SLF001 - see bulk_publish
    except AttributeError:
        stub = None
    if not isinstance(stub, api_service_v1.DaprStub):
        raise SdkMismatch(f"DaprClient has no _stub (dapr {metadata.version('dapr')})")
    return stub


def bulk_publish(
    client: DaprClient, request: api_v1.BulkPublishRequest
) -> api_v1.BulkPublishResponse:
    """BulkPublishEvent with metadata per entry (partition key, CloudEvent id and traceparent of
    each message). DaprClient.publish_events builds its entries without metadata and with ids of
    its own (dapr 1.18.3; dapr/python-sdk#1214), and request metadata, which daprd applies to
    every entry, cannot carry one key per message."""
    response: api_v1.BulkPublishResponse = raw_stub(client).BulkPublishEvent(request)
    return response


def declare_bulk(
    app: App, pubsub_name: str, topic: str, max_messages: int, max_await_ms: int
) -> None:
    """Turns a subscription that app.subscribe declared into a bulk one: dapr-ext-grpc 1.18.3's
    App.subscribe has no bulk options (dapr/python-sdk#464), and its ListTopicSubscriptions
    answers with the servicer's `_registered_topics`."""
    declared = _servicer(app)._registered_topics  # noqa: SLF001 - no public hook
    subscription = next(
        (s for s in declared if s.pubsub_name == pubsub_name and s.topic == topic), None
    )
    if subscription is None:
        raise LookupError(f"{pubsub_name}/{topic} is not subscribed on this App")
    subscription.bulk_subscribe.CopyFrom(
        appcallback_v1.BulkSubscribeConfig(
            enabled=True, max_messages_count=max_messages, max_await_duration_ms=max_await_ms
        )
    )


def bulk_hook(app: App) -> BulkHook:
    """What answers the app's bulk deliveries now (the SDK's own hook until `route_bulk`)."""
    hook: BulkHook = _servicer(app)._handle_bulk_topic_event  # noqa: SLF001 - see route_bulk
    return hook


def route_bulk(app: App, hook: BulkHook) -> None:
    """Hands the app's bulk deliveries to `hook`, whole. In dapr-ext-grpc 1.18.3 OnBulkTopicEvent
    calls the servicer's `_handle_bulk_topic_event`, which passes the entries to the per-message
    topic callback one by one; there is no public way to take a delivery as one batch."""
    _servicer(app)._handle_bulk_topic_event = hook  # noqa: SLF001 - no public hook


def _servicer(app: App) -> Any:
    """The App's AppCallback servicer, which holds the subscriptions and the bulk hook."""
    try:
        return app._servicer  # noqa: SLF001 - no public hook
    except AttributeError:
        version = metadata.version("dapr-ext-grpc")
        raise SdkMismatch(f"App has no _servicer (dapr-ext-grpc {version})") from None


# dapr 1.18.3's DaprClient.try_lock and .unlock warn on every call that the lock API is alpha
# (UserWarning, attributed to their caller): once in our docs is enough.
_LOCK_ALPHA = "The Distributed Lock API is an Alpha version"


def quiet_lock_alpha_warning() -> None:
    """Silences that warning for the lock calls made by this module's try_lock and unlock, and
    only for those (the filter names this module); idempotent."""
    warnings.filterwarnings(
        "ignore", message=_LOCK_ALPHA, category=UserWarning, module=re.escape(__name__) + "$"
    )


def try_lock(client: Any, store: str, resource: str, owner: str, expiry_seconds: int) -> bool:
    """DaprClient.try_lock; True when the lock is ours."""
    return bool(client.try_lock(store, resource, owner, expiry_seconds).success)


def unlock(client: Any, store: str, resource: str, owner: str) -> None:
    client.unlock(store, resource, owner)
