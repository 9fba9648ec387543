"""The simulator's Dapr app: subscribes to the outcome topics and records what arrives."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from types import FrameType

from cloudevents.sdk.event import v1
from dapr.clients.grpc._response import TopicEventResponse
from dapr.ext.grpc import App

from order_simulator import topics
from order_simulator.received import ReceivedWriter

log = logging.getLogger("order_simulator")


def build_app(writer: ReceivedWriter, pubsub: str, names: topics.Topics) -> App:
    app = App()
    for topic in topics.OUTCOMES:
        app.subscribe(pubsub, names.wire(topic))(_recorder(writer, topic))
    app.register_health_check(lambda: None)  # type: ignore[no-untyped-call]
    return app


def _recorder(writer: ReceivedWriter, topic: str):  # type: ignore[no-untyped-def]
    def record(event: v1.Event) -> TopicEventResponse:
        data = event.Data()
        raw = data.encode() if isinstance(data, str) else data if isinstance(data, bytes) else b""
        traceparent = (event.Extensions() or {}).get("_metadata_traceparent", "")
        received = writer.append(topic, str(event.EventID()), raw, str(traceparent))
        log.info("received %s id=%s order=%s", topic, received.id, received.order_id)
        return TopicEventResponse("success")

    return record


def serve() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    received_path = Path(os.environ.get("SIMULATOR_RECEIVED_PATH", "received.jsonl"))
    port = int(os.environ.get("SIMULATOR_GRPC_PORT", "50061"))
    pubsub = os.environ.get("SIMULATOR_PUBSUB_NAME", "pubsub")
    app = build_app(ReceivedWriter(received_path), pubsub, topics.Topics.from_env())

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        app.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("order simulator on 127.0.0.1:%d, recording to %s", port, received_path)
    app.run(port, listen_address="127.0.0.1")
