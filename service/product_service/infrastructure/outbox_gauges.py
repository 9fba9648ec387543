"""product_outbox_backlog and product_outbox_oldest_age_seconds: read from the database when
Prometheus scrapes, so they are right even after a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from product_service.infrastructure.db.outbox_store import Backlog


class OutboxCollector(Collector):
    """product_outbox_backlog and product_outbox_oldest_age_seconds, read when scraped."""

    def __init__(self, backlog: Callable[[], Backlog], now: Callable[[], datetime]) -> None:
        self._backlog = backlog
        self._now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            backlog = self._backlog()
        except Exception:  # database down: report nothing rather than fail the scrape
            return
        yield GaugeMetricFamily(
            "product_outbox_backlog",
            "Committed outcome events not yet published",
            backlog.unpublished,
        )
        oldest = backlog.oldest_created_at
        age = (self._now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "product_outbox_oldest_age_seconds", "Age of the oldest unpublished outcome event", age
        )


def register_outbox(
    registry: CollectorRegistry, backlog: Callable[[], Backlog], now: Callable[[], datetime]
) -> None:
    registry.register(OutboxCollector(backlog, now))
