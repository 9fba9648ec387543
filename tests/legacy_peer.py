"""The legacy Go order service on the Kafka wire, for the tests: runs tools/legacy_peer
(`scripts/infra legacy-peer-path`) and reads the JSON lines it prints.

A test publishes paid orders as order v7 does and consumes what the product service answers
with a `Consumer` in the background, waiting with a deadline for exactly the records expected.
tools/legacy_peer/README.md says what the peer reproduces.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.ci import unavailable
from tests.eventually import eventually

REPO_ROOT = Path(__file__).resolve().parents[1]
INFRA = REPO_ROOT / "scripts" / "infra"
BROKERS = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")

# An order line: (sku, quantity) or (sku, quantity, product id).
Line = tuple[int, int] | tuple[int, int, int]


def peer_binary() -> Path:
    """The built peer; else the test is skipped (failed under CI)."""
    out = subprocess.run(
        [str(INFRA), "legacy-peer-path"], capture_output=True, text=True, check=False
    )
    if out.returncode != 0 or not out.stdout.strip():
        unavailable(
            "legacy_peer", f"scripts/infra legacy-peer-path: {out.stderr.strip() or 'no binary'}"
        )
    return Path(out.stdout.strip())


@dataclass(frozen=True)
class Record:
    """One record as the order service consumed it (one line of `consume`)."""

    topic: str
    header: dict[str, str] | None
    value: str | None
    key: str | None
    record_headers: dict[str, str]
    event_type: str | None
    payload_type: str | None
    payload: dict[str, Any] | None
    decode_error: str | None
    order_service: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def of(cls, line: Mapping[str, Any]) -> Record:
        return cls(
            topic=line["topic"],
            header=line.get("header"),
            value=line.get("value"),
            key=line.get("key"),
            record_headers=line.get("record_headers") or {},
            event_type=line.get("event_type"),
            payload_type=line.get("payload_type"),
            payload=line.get("payload"),
            decode_error=line.get("decode_error"),
            order_service=line.get("order_service") or {},
            raw=dict(line),
        )

    @property
    def order_id(self) -> int | None:
        return None if self.payload is None else self.payload.get("OrderId")

    @property
    def accepted(self) -> bool:
        """Whether order v7 would have handled it (else `order_service["error"]` says why)."""
        return bool(self.order_service.get("accepted"))


@dataclass(frozen=True)
class ConsumeOutput:
    """What a `consume` has printed so far, by kind of line."""

    ready: bool
    records: list[Record]
    republished: list[dict[str, Any]]


def parse_output(text: str) -> ConsumeOutput:
    """The complete lines of a consume's output (a last line still being written is left)."""
    complete = text[: text.rfind("\n") + 1]
    ready, records, republished = False, [], []
    for line in complete.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if "ready" in obj:
            ready = True
        elif "republished" in obj:
            republished.append(obj["republished"])
        else:
            records.append(Record.of(obj))
    return ConsumeOutput(ready=ready, records=records, republished=republished)


def line_args(lines: Iterable[Line]) -> list[str]:
    return [arg for line in lines for arg in ("--line", ":".join(str(n) for n in line))]


def header_args(flag: str, headers: Mapping[str, str] | None) -> list[str]:
    return [arg for k, v in (headers or {}).items() for arg in (flag, f"{k}={v}")]


class TooMany(Exception):
    """More records matched than expected: waiting longer cannot help."""


@dataclass
class LegacyPeer:
    """The peer's commands, for one era and set of topic names."""

    binary: Path
    brokers: str = BROKERS
    era: str = "v7"
    topic_prefix: str = ""
    dry_run: bool = False  # publish and reject print their records without Kafka

    @classmethod
    def found(cls, **kwargs: Any) -> LegacyPeer:
        return cls(peer_binary(), **kwargs)

    def _common(self) -> list[str]:
        return ["--brokers", self.brokers, "--era", self.era, "--topic-prefix", self.topic_prefix]

    def _run(self, command: str, *args: str) -> list[dict[str, Any]]:
        argv = [str(self.binary), command, *self._common(), *args]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: exit {out.returncode}: {out.stderr.strip()}")
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    def publish(
        self,
        order_id: int,
        lines: Sequence[Line],
        *,
        times: int = 1,
        fresh: bool = False,
        content_type: str = "proto",
        call_metadata: Mapping[str, str] | None = None,
        topic: str | None = None,
    ) -> list[dict[str, Any]]:
        """A paid order as order v7 publishes it; one dict per record written (topic, value,
        header, payload...). `times` writes the same record again, `fresh` runs the publish
        path again (new Event_id, Timestamp, Traceparent)."""
        args = ["--order-id", str(order_id), *line_args(lines), "--times", str(times)]
        args += ["--content-type", content_type, *header_args("--header", call_metadata)]
        args += ["--fresh"] if fresh else []
        args += ["--topic", topic] if topic else []
        args += ["--dry-run"] if self.dry_run else []
        return [line["published"] for line in self._run("publish", *args)]

    def publish_raw(
        self,
        topic: str,
        value: str,
        *,
        key: str | None = None,
        record_headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        args = ["--topic", topic, "--value", value, *header_args("--header", record_headers)]
        args += ["--key", key] if key is not None else []
        published: dict[str, Any] = self._run("publish-raw", *args)[0]["published"]
        return published

    def reject(
        self,
        *,
        value: str | None = None,
        order_id: int | None = None,
        skus: Sequence[tuple[int, ...]] = (),
        topic: str | None = None,
        error: str | None = None,
        event_type_key: str = "Event_type",
    ) -> dict[str, Any] | None:
        """What order v7's error handler publishes to <topic>DLQ for a record it refused: the
        `value` it consumed, or the product service's OnInventoryDeductSuccess of `order_id`."""
        args = ["--event-type-key", event_type_key]
        args += ["--value", value] if value is not None else ["--order-id", str(order_id)]
        args += [a for sku in skus for a in ("--sku", ":".join(str(n) for n in sku))]
        args += ["--topic", topic] if topic else []
        args += ["--error", error] if error is not None else []
        args += ["--dry-run"] if self.dry_run else []
        republished: dict[str, Any] | None = self._run("reject", *args)[0]["republished"]
        return republished

    def topics(self, action: str, *names: str, partitions: int = 1) -> None:
        """create, delete or delete-group: the tests' own topics and consumer groups."""
        args = ["--partitions", str(partitions)] if action == "create" else []
        argv = [str(self.binary), "topics", action, "--brokers", self.brokers, *args, *names]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: exit {out.returncode}: {out.stderr.strip()}")

    def consumer(
        self,
        out: Path,
        *,
        group: str = "order-consumer",
        topics: Sequence[str] = (),
        from_start: bool = True,
        republish_failures: bool = False,
    ) -> Consumer:
        """A consume in the background, as order v7 subscribes. `from_start` (the default
        here, not the plugin's) reads a group's records from its committed offset or, for a new
        group, from the oldest, so nothing written before the consumer started is missed."""
        args = ["--group", group, "--out", str(out)]
        args += ["--topics", ",".join(topics)] if topics else []
        args += ["--from-start"] if from_start else []
        args += ["--republish-failures"] if republish_failures else []
        return Consumer([str(self.binary), "consume", *self._common(), *args], out)


class Consumer:
    """A `consume` process writing JSON lines to a file; a context manager that stops it."""

    def __init__(self, argv: list[str], out: Path) -> None:
        self.argv, self.out = argv, out
        self.stderr = out.with_suffix(out.suffix + ".stderr")
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Consumer:
        self.out.write_text("")
        with self.stderr.open("wb") as err:
            self._proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=err)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM (the group is left and its offsets committed), SIGKILL after `timeout`."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        return self._proc.returncode

    def output(self) -> ConsumeOutput:
        if self._proc is not None and self._proc.poll() is not None:
            tail = self.stderr.read_text()[-2000:]
            raise RuntimeError(f"legacy_peer consume exited {self._proc.returncode}: {tail}")
        return parse_output(self.out.read_text())

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the group's partitions are assigned to this consumer."""

        def check() -> None:
            assert self.output().ready, "the consumer's partitions are not assigned yet"

        eventually(check, timeout)

    def expect(
        self, count: int, match: Callable[[Record], bool] = lambda r: True, timeout: float = 30
    ) -> list[Record]:
        """The `count` records that match, once they are all there; TooMany at once if more
        match, AssertionError at the deadline if fewer."""

        def check() -> list[Record]:
            found = [r for r in self.output().records if match(r)]
            if len(found) > count:
                raise TooMany(f"{len(found)} records match, {count} expected: {found}")
            assert len(found) == count, f"{len(found)} of {count} records: {found}"
            return found

        return eventually(check, timeout)
