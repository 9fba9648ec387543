"""The app channel `serve` runs, built by the same function, served on a free port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import grpc

from devstack.net import free_port
from product_service.bootstrap import Runtime
from product_service.interfaces.grpc.channel import app_channel
from product_service.interfaces.grpc.intake import Intake


@contextmanager
def serving(runtime: Runtime, intake: Intake | None = None) -> Iterator[grpc.Channel]:
    """A gRPC connection to the runtime's app channel, as daprd opens one."""
    channel = app_channel(
        runtime.inventory, runtime.settings, intake or Intake(), ThreadPoolExecutor(8)
    )
    port = free_port()
    threading.Thread(target=channel.run, args=(port, "127.0.0.1"), daemon=True).start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as connection:
            grpc.channel_ready_future(connection).result(timeout=10)
            yield connection
    finally:
        channel.stop()
