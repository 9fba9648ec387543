"""The lease of the once-per-cluster jobs: one holder at a time, kept while it lives, taken by
another within one term when it dies, given back on shutdown."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from prometheus_client import REGISTRY

from product_service.infrastructure.dapr.lease import DaprLease
from product_service.infrastructure.dapr.lock import DaprLock
from product_service.infrastructure.db.engine import database_key
from tests.unit.test_dapr_lock import FakeSidecar, Granted

TERM = 10


@dataclass
class Time:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class ExpiringLockStore:
    """The lock store as Redis has it: a lock expires `expiry` seconds after it was taken."""

    time: Time
    locks: dict[str, tuple[str, float]] = field(default_factory=dict)
    down: bool = False

    def try_lock(self, store: str, resource: str, owner: str, expiry: int) -> Granted:
        if self.down:
            raise grpc.RpcError("lock store lockstore is not found")
        held = self.locks.get(resource)
        if held is not None and held[1] > self.time.now:
            return Granted(False)
        self.locks[resource] = (owner, self.time.now + expiry)
        return Granted(True)

    def unlock(self, store: str, resource: str, owner: str) -> None:
        if self.locks.get(resource, ("", 0.0))[0] == owner:
            del self.locks[resource]

    def holder(self, resource: str) -> str | None:
        held = self.locks.get(resource)
        return held[0] if held is not None and held[1] > self.time.now else None


def replica(store: ExpiringLockStore, name: str) -> DaprLease:
    lock = DaprLock(FakeSidecar(store), "lockstore", name, TERM, kind="test_lease")  # type: ignore[arg-type]
    return DaprLease(lock, "the-job", "test", monotonic=store.time)


def gauge() -> float | None:
    return REGISTRY.get_sample_value("product_lease_held", {"lease": "test"})


def test_one_replica_holds_the_lease_and_keeps_it_past_its_term_while_it_lives() -> None:
    store = ExpiringLockStore(Time())
    first, second = replica(store, "a"), replica(store, "b")

    assert first.held() is True
    assert gauge() == 1
    for _ in range(5 * TERM):  # both ask every second for five terms
        store.time.now += 1
        assert first.held() is True
        assert second.held() is False
    holder = store.holder("the-job")
    assert holder is not None and holder.startswith("a-")


def test_when_the_holder_dies_another_replica_takes_the_lease_within_one_term() -> None:
    store = ExpiringLockStore(Time())
    first, second = replica(store, "a"), replica(store, "b")
    assert first.held() is True
    died_at = store.time.now  # `first` asks no more

    while not second.held():
        store.time.now += 0.5
        assert store.time.now - died_at <= TERM, "the lease did not move within one term"
    holder = store.holder("the-job")
    assert holder is not None and holder.startswith("b-")


def test_a_holder_never_believes_in_its_lease_after_the_store_let_it_go() -> None:
    """Renewed once half the term is gone: `held()` is never True on an expired lock."""
    store = ExpiringLockStore(Time())
    first = replica(store, "a")
    for _ in range(4 * TERM * 10):
        store.time.now += 0.1
        if first.held():
            holder = store.holder("the-job")
            assert holder is not None and holder.startswith("a-")


def test_released_on_shutdown_the_lease_is_free_at_once() -> None:
    store = ExpiringLockStore(Time())
    first, second = replica(store, "a"), replica(store, "b")
    assert first.held() is True

    first.release()

    assert gauge() == 0
    assert second.held() is True


def test_a_lock_store_that_cannot_answer_lets_the_job_run_without_the_lease() -> None:
    store = ExpiringLockStore(Time(), down=True)
    lease = replica(store, "a")

    assert lease.held() is True
    assert gauge() == 0
    assert store.locks == {}


def test_each_database_has_its_own_lease_whoever_connects() -> None:
    """Two deployments sharing a lock store and an app id must not share a lease: the holder
    would sweep only its own database, and the other's would never be swept."""
    ours = database_key("mysql+pymysql://product:secret@db:3306/product")
    assert ours == database_key("mysql+pymysql://other:pw@db:3306/product")
    assert ours != database_key("mysql+pymysql://product:secret@db:3306/product_staging")
    assert ours != database_key("mysql+pymysql://product:secret@db2:3306/product")
    assert "secret" not in ours
