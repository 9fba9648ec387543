"""`product-service serve`: the gRPC app channel and the HTTP listener in one process.

SIGTERM or SIGINT: new deliveries are answered RETRY (they stay with the broker), in-flight
deliveries and calls finish, the relay publishes everything committed, then the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

import uvicorn
from prometheus_client import REGISTRY
from sqlalchemy import text

from product_service.application.ports import SystemClock
from product_service.bootstrap import Runtime, build_runtime
from product_service.infrastructure.dapr.sdk_gaps import check_sdk
from product_service.infrastructure.outbox_gauges import register_outbox, register_replays
from product_service.infrastructure.settings import Settings
from product_service.interfaces.grpc.channel import app_channel
from product_service.interfaces.grpc.intake import Intake
from product_service.interfaces.http import Probes, create_http_app
from product_service.interfaces.operator_access import OperatorAccess

log = logging.getLogger(__name__)


class Server:
    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self._settings = settings
        self._runtime = runtime
        self._intake = Intake()
        self._executor = ThreadPoolExecutor(settings.grpc_workers, thread_name_prefix="app-channel")
        self._app = app_channel(runtime, self._intake, self._executor, self._health_check)
        self._access = OperatorAccess.for_listener(settings.http_token, settings.http_host)
        self._http = uvicorn.Server(
            uvicorn.Config(
                create_http_app(
                    runtime.inventory, runtime.dead_letters, self._probes(), self._access
                ),
                host=settings.http_host,
                port=settings.http_port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        self._stopping = threading.Event()
        self._shutdown_thread: threading.Thread | None = None
        self._clean_exit = True

    def run(self) -> int:
        """Blocks until a signal stops the server; returns the exit code."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        http_thread = threading.Thread(target=self._http.run, name="http", daemon=True)
        http_thread.start()
        self._runtime.start_workers()
        log.info(
            "serving app channel on 127.0.0.1:%d (gRPC) and HTTP on %s:%d",
            self._settings.grpc_port,
            self._settings.http_host,
            self._settings.http_port,
        )
        if self._access.closed:
            log.warning(
                "HTTP operator views answer 403: PRODUCT_HTTP_TOKEN is not set and HTTP "
                "listens on %s, not on loopback",
                self._settings.http_host,
            )
        self._app.run(self._settings.grpc_port, listen_address="127.0.0.1")
        # The app channel stops only once the shutdown thread has drained it; that thread
        # still flushes the outbox, so wait for it before closing what it uses.
        if self._shutdown_thread is not None:
            self._shutdown_thread.join()
        http_thread.join(timeout=5)
        self._runtime.close()
        log.info("stopped")
        return 0 if self._clean_exit else 1

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self._stopping.is_set():
            self._stopping.set()
            log.info("%s received: draining", signal.Signals(signum).name)
            self._shutdown_thread = threading.Thread(target=self._shut_down, name="shutdown")
            self._shutdown_thread.start()

    def _shut_down(self) -> None:
        """Deliveries and API calls in progress finish (new ones are refused), then the
        channel stops, then everything committed is published."""
        grace = self._settings.shutdown_grace_seconds
        if not self._intake.close_and_drain(grace):
            log.warning("work still running after %ss; stopping anyway", grace)
            self._clean_exit = False
        self._app.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
        if not self._runtime.relay.flush(grace):
            log.warning("outbox not flushed; the relay publishes the rest after restart")
            self._clean_exit = False
        self._http.should_exit = True

    def _health_check(self) -> None:
        if self._stopping.is_set():
            raise RuntimeError("shutting down")

    def _probes(self) -> Probes:
        runtime = self._runtime
        engine = runtime.engine

        def database() -> bool:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return True
            except Exception:
                return False

        probes = Probes(
            database=database,
            sidecar=runtime.sidecar.is_ready,
            backlog=runtime.outbox.backlog,
            now=SystemClock().now,
        )
        register_outbox(REGISTRY, probes.backlog, probes.now)
        register_replays(REGISTRY, runtime.dead_letters.store.replays_by_topic)
        return probes


def serve(settings: Settings) -> int:
    check_sdk()  # the SDK's private hooks we rely on are there (sdk_gaps.py)
    if settings.thread_switch_interval_ms is not None:
        # The relay and the handlers wait on sockets most of the time; a shorter interval hands
        # them the interpreter sooner when a reply arrives while another thread computes.
        sys.setswitchinterval(settings.thread_switch_interval_ms / 1000)
    return Server(settings, build_runtime(settings)).run()
