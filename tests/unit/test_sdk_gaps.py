"""The Dapr SDK's private parts that sdk_gaps uses: present in the pinned SDK, refused clearly
when missing, and the SDK's own deadline on every sidecar call we make. No sidecar: a real App,
a real DaprClient (its health wait skipped) and an in-process fake of the sidecar's gRPC API."""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dapr.clients import DaprClient
from dapr.clients.grpc.client import DaprGrpcClient
from dapr.clients.grpc.interceptors import DaprClientTimeoutInterceptor
from dapr.clients.health import DaprHealth
from dapr.conf import global_settings
from dapr.conf import settings as dapr_settings
from dapr.ext.grpc import App
from dapr.proto import api_service_v1

from devstack.net import free_port
from product_service.infrastructure.dapr import sdk_gaps
from product_service.infrastructure.dapr.lock import DaprLock
from product_service.infrastructure.dapr.publisher import DaprPublisher
from product_service.infrastructure.dapr.sdk_gaps import SdkMismatch, check_sdk
from product_service.infrastructure.dapr.sidecar import Sidecar
from product_service.infrastructure.outbox_codec import OutboxMessage
from tests.fake_sidecar import FakeSidecarApi

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 7.5


def test_the_sdk_checked_against_is_the_one_pyproject_and_uv_lock_pin() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = dict(d.split("==") for d in project["dependencies"] if d.startswith("dapr"))
    locked = {
        p["name"]: p["version"]
        for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]
        if p["name"] in sdk_gaps.CHECKED_AGAINST
    }
    assert pins == locked == sdk_gaps.CHECKED_AGAINST == sdk_gaps.installed_versions()


def test_the_installed_sdk_has_every_hook_sdk_gaps_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    check_sdk()
    servicer = App()._servicer  # noqa: SLF001 - the hooks under test
    assert isinstance(servicer._registered_topics, list)  # noqa: SLF001
    assert callable(servicer._handle_bulk_topic_event)  # noqa: SLF001
    monkeypatch.setattr(DaprHealth, "wait_for_sidecar", staticmethod(lambda: None))
    client = DaprClient(f"127.0.0.1:{free_port()}")  # the channel connects on first call
    try:
        assert isinstance(client._stub, api_service_v1.DaprStub)  # noqa: SLF001
        assert sdk_gaps.raw_stub(client) is client._stub  # noqa: SLF001
    finally:
        client.close()


def test_check_sdk_names_the_version_found_when_it_is_not_the_pinned_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = {"dapr": "1.19.0", "dapr-ext-grpc": "1.18.3"}
    monkeypatch.setattr(sdk_gaps, "installed_versions", lambda: found)

    with pytest.raises(SdkMismatch, match="dapr 1.19.0 is installed, 1.18.3 is required"):
        check_sdk()


def _servicer_type() -> type:
    return type(App()._servicer)  # noqa: SLF001


def _without_bulk_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(_servicer_type(), "_handle_bulk_topic_event")


def _without_registered_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    original = _servicer_type().__init__

    def init(self: Any) -> None:
        original(self)
        self.topics = self.__dict__.pop("_registered_topics")

    monkeypatch.setattr(_servicer_type(), "__init__", init)


def _bulk_not_through_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_servicer_type(), "OnBulkTopicEvent", lambda self, request, context: None)


def _client_without_stub(monkeypatch: pytest.MonkeyPatch) -> None:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        self.api = None

    monkeypatch.setattr(DaprGrpcClient, "__init__", init)


def _interceptor_without_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        DaprClientTimeoutInterceptor,
        "intercept_unary_unary",
        lambda self, continuation, details, request: continuation(details, request),
    )


def _no_api_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(global_settings, "DAPR_API_TIMEOUT_SECONDS")
    monkeypatch.delattr(dapr_settings, "DAPR_API_TIMEOUT_SECONDS")


@pytest.mark.parametrize(
    ("simulate", "missing"),
    [
        (_without_bulk_hook, "App()._servicer._handle_bulk_topic_event"),
        (_without_registered_topics, "App()._servicer._registered_topics"),
        (_bulk_not_through_the_hook, "OnBulkTopicEvent calling _handle_bulk_topic_event"),
        (_client_without_stub, "DaprClient._stub set by DaprGrpcClient.__init__"),
        (
            _interceptor_without_the_setting,
            "DaprClientTimeoutInterceptor reading DAPR_API_TIMEOUT_SECONDS",
        ),
        (_no_api_timeout_setting, "dapr.conf.settings.DAPR_API_TIMEOUT_SECONDS"),
    ],
)
def test_check_sdk_names_a_hook_the_sdk_no_longer_has(
    monkeypatch: pytest.MonkeyPatch,
    simulate: Callable[[pytest.MonkeyPatch], None],
    missing: str,
) -> None:
    simulate(monkeypatch)

    with pytest.raises(SdkMismatch, match=r"dapr 1\.18\.3.*missing: ") as raised:
        check_sdk()
    assert f"missing: {missing}" in str(raised.value)


def test_the_accessors_refuse_objects_without_the_hooks_clearly() -> None:
    with pytest.raises(SdkMismatch, match="DaprClient has no _stub"):
        sdk_gaps.raw_stub(object())  # type: ignore[arg-type]
    with pytest.raises(SdkMismatch, match="App has no _servicer"):
        sdk_gaps.bulk_hook(object())  # type: ignore[arg-type]


def _make_every_call(sidecar: Sidecar) -> None:
    publisher = DaprPublisher(sidecar, "pubsub")
    message = OutboxMessage("event-1", "OnInventoryDeductSuccess", "1001", "{}")
    publisher.publish(message)
    assert publisher.publish_batch([message]) == set()
    with DaprLock(sidecar, "lockstore", "product-service", 30).hold("order-1001"):
        pass


def test_every_sidecar_call_we_make_carries_the_call_deadline(
    sidecar_api: FakeSidecarApi,
) -> None:
    sidecar = Sidecar(call_timeout_seconds=TIMEOUT)
    try:
        _make_every_call(sidecar)
    finally:
        sidecar.close()

    assert set(sidecar_api.deadlines) == {
        "PublishEvent",
        "BulkPublishEvent",  # on the raw stub
        "TryLockAlpha1",
        "UnlockAlpha1",
    }
    for call, remaining in sidecar_api.deadlines.items():
        # grpcio's server reads the deadline in its own time: within a second is the same one.
        assert remaining is not None and 0 < remaining < TIMEOUT + 1, call
    assert dapr_settings.DAPR_HEALTH_TIMEOUT == TIMEOUT


def test_without_the_sdk_setting_the_calls_have_no_deadline(sidecar_api: FakeSidecarApi) -> None:
    """What proves it is the SDK's DAPR_API_TIMEOUT_SECONDS that sets the deadline above."""
    sidecar = Sidecar(call_timeout_seconds=TIMEOUT)
    dapr_settings.DAPR_API_TIMEOUT_SECONDS = None  # type: ignore[attr-defined]
    try:
        _make_every_call(sidecar)
    finally:
        sidecar.close()

    # grpcio's server reports a call without a deadline as one about 292 years away.
    assert all(r is None or r > 3600 for r in sidecar_api.deadlines.values())
    assert len(sidecar_api.deadlines) == 4


def test_the_lock_calls_do_not_warn_but_other_lock_callers_still_do(
    sidecar_api: FakeSidecarApi,
) -> None:
    sidecar = Sidecar(call_timeout_seconds=TIMEOUT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lock = DaprLock(sidecar, "lockstore", "product-service", 30)  # quiets its calls
            with lock.hold("order-1001"):
                pass
            with pytest.raises(UserWarning, match="Lock API is an Alpha"):
                sidecar.client.try_lock("lockstore", "order-1002", "someone-else", 30)
    finally:
        sidecar.close()
