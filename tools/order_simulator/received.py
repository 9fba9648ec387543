"""The file of received events: one JSON object per line, appended by the simulator app."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Received:
    topic: str
    id: str
    order_id: str
    data: Any
    received_at: str
    # W3C traceparent of the simulator sidecar's delivery span (empty when not traced).
    traceparent: str = ""


def order_id_of(data: Any) -> str:
    """The order id of an event payload (either JSON spelling), as text; "" when absent."""
    if not isinstance(data, dict):
        return ""
    value = data.get("OrderId", data.get("orderId"))
    return "" if value is None else str(value)


def decode_data(raw: bytes) -> Any:
    """JSON payloads as objects; anything else kept as text so nothing received is lost."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def parse_line(line: str) -> Received | None:
    """One line of the file; None for a blank or torn (still being written) line."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    return Received(
        topic=str(obj.get("topic", "")),
        id=str(obj.get("id", "")),
        order_id=str(obj.get("order_id", "")),
        data=obj.get("data"),
        received_at=str(obj.get("received_at", "")),
        traceparent=str(obj.get("traceparent", "")),
    )


def read_received(path: Path) -> list[Received]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [r for r in map(parse_line, text.splitlines()) if r is not None]


class ReceivedWriter:
    """Appends one line per event; a lock keeps lines whole under concurrent handlers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, topic: str, event_id: str, raw: bytes, traceparent: str = "") -> Received:
        data = decode_data(raw)
        record = Received(
            topic=topic,
            id=event_id,
            order_id=order_id_of(data),
            data=data,
            received_at=datetime.now(UTC).isoformat(timespec="microseconds"),
            traceparent=traceparent,
        )
        line = json.dumps(record.__dict__, separators=(",", ":")) + "\n"
        with self._lock, self.path.open("a") as f:
            f.write(line)
        return record
