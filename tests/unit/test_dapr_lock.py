"""The Dapr lock adapter: held elsewhere means retry; lock store missing means proceed."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
import pytest
from prometheus_client import REGISTRY

from product_service.application.errors import LockHeld
from product_service.infrastructure.dapr.lock import DaprLock


@dataclass
class Granted:
    success: bool


@dataclass
class FakeLockClient:
    """The two lock calls of DaprClient, over a dict of resource -> owner."""

    locks: dict[str, str] = field(default_factory=dict)
    down: bool = False

    def try_lock(self, store: str, resource: str, owner: str, expiry: int) -> Granted:
        if self.down:
            raise grpc.RpcError("lock store lockstore is not found")
        if resource in self.locks:
            return Granted(False)
        self.locks[resource] = owner
        return Granted(True)

    def unlock(self, store: str, resource: str, owner: str) -> None:
        if self.locks.get(resource) == owner:
            del self.locks[resource]


@dataclass
class FakeSidecar:
    client: FakeLockClient


def attempts(result: str) -> float:
    """The order-lock attempts counted with `result` so far (product_lock_acquisitions_total)."""
    labels = {"kind": "order", "result": result}
    return REGISTRY.get_sample_value("product_lock_acquisitions_total", labels) or 0.0


@pytest.fixture(autouse=True)
def counted() -> dict[str, float]:
    return {r: attempts(r) for r in ("acquired", "refused", "store_unavailable")}


def counted_since(before: dict[str, float], result: str) -> float:
    return attempts(result) - before[result]


def make_lock(client: FakeLockClient) -> DaprLock:
    return DaprLock(FakeSidecar(client), "lockstore", "product-service", 30)  # type: ignore[arg-type]


def test_holds_the_lock_for_the_block_and_releases_it(counted: dict[str, float]) -> None:
    client = FakeLockClient()
    lock = make_lock(client)

    with lock.hold("order-1"):
        assert "order-1" in client.locks

    assert client.locks == {}
    assert counted_since(counted, "acquired") == 1


def test_a_lock_held_elsewhere_raises_lock_held_and_keeps_the_other_owner(
    counted: dict[str, float],
) -> None:
    client = FakeLockClient(locks={"order-1": "other-replica"})
    lock = make_lock(client)

    with pytest.raises(LockHeld), lock.hold("order-1"):
        pytest.fail("the block must not run")

    assert client.locks == {"order-1": "other-replica"}
    assert counted_since(counted, "refused") == 1


def test_two_holds_in_one_process_exclude_each_other() -> None:
    lock = make_lock(FakeLockClient())

    with lock.hold("order-1"), pytest.raises(LockHeld), lock.hold("order-1"):
        pytest.fail("the inner block must not run")


def test_lock_store_down_proceeds_and_counts(counted: dict[str, float]) -> None:
    lock = make_lock(FakeLockClient(down=True))
    ran = []

    with lock.hold("order-1"):
        ran.append(True)
    with lock.hold("order-2"):
        ran.append(True)

    assert ran == [True, True]
    assert counted_since(counted, "store_unavailable") == 2


def test_an_error_in_the_block_still_releases_the_lock() -> None:
    client = FakeLockClient()
    lock = make_lock(client)

    with pytest.raises(ValueError), lock.hold("order-1"):
        raise ValueError("boom")

    assert client.locks == {}


@dataclass
class ReleasedAfter(FakeLockClient):
    """Another owner holds the resource for the first `refusals` attempts."""

    refusals: int = 3

    def try_lock(self, store: str, resource: str, owner: str, expiry: int) -> Granted:
        if self.refusals:
            self.refusals -= 1
            return Granted(False)
        return super().try_lock(store, resource, owner, expiry)


def test_waits_briefly_for_a_lock_that_is_released_meanwhile(counted: dict[str, float]) -> None:
    client = ReleasedAfter()
    lock = DaprLock(FakeSidecar(client), "lockstore", "product-service", 30, wait_seconds=5)  # type: ignore[arg-type]

    with lock.hold("order-1"):
        assert "order-1" in client.locks

    assert (counted_since(counted, "refused"), counted_since(counted, "acquired")) == (3, 1)


def test_without_a_wait_a_held_lock_is_refused_at_once() -> None:
    lock = make_lock(ReleasedAfter(refusals=1))

    with pytest.raises(LockHeld), lock.hold("order-1"):
        pytest.fail("the block must not run")


def test_a_batch_holds_every_free_lock_and_names_the_ones_held_elsewhere(
    counted: dict[str, float],
) -> None:
    client = FakeLockClient(locks={"order-2": "other-replica"})
    lock = make_lock(client)
    resources = [f"order-{i}" for i in range(1, 21)]

    with lock.hold_many(resources) as refused:
        assert list(refused) == ["order-2"]
        assert isinstance(refused["order-2"], LockHeld)
        assert sorted(client.locks) == sorted(resources)

    assert client.locks == {"order-2": "other-replica"}
    assert (counted_since(counted, "acquired"), counted_since(counted, "refused")) == (19, 1)


def test_a_batch_proceeds_without_locks_when_the_store_is_down(counted: dict[str, float]) -> None:
    lock = make_lock(FakeLockClient(down=True))

    with lock.hold_many(["order-1", "order-2"]) as refused:
        assert refused == {}

    assert counted_since(counted, "store_unavailable") == 2
