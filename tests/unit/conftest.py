from __future__ import annotations

from collections.abc import Iterator

import pytest

from product_service.application.service import InventoryService
from product_service.infrastructure.settings import Settings
from tests.app_channel import Channel, running_channel
from tests.fake_sidecar import FakeSidecarApi, fake_sidecar
from tests.fakes import MemoryStore, memory_runtime


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def settings() -> Settings:
    return Settings(max_order_lines=5, max_line_quantity=100, max_stock_adjustment=1000)


@pytest.fixture
def inventory(store: MemoryStore, settings: Settings) -> InventoryService:
    return memory_runtime(store, settings).inventory


@pytest.fixture
def channel() -> Iterator[Channel]:
    """The app channel over real in-process gRPC, on in-memory adapters."""
    with running_channel() as running:
        yield running


@pytest.fixture
def sidecar_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSidecarApi]:
    """A fake of the sidecar's gRPC API that DaprClient() reaches (tests/fake_sidecar.py)."""
    with fake_sidecar(monkeypatch) as api:
        yield api
