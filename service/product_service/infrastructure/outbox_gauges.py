"""Metrics read from the database when Prometheus scrapes, so they are right even after a
restart and whichever replica (or CLI) did the work: the outbox backlog and its oldest row's
age, and dead-letter replays (done by the CLI, which no scraper sees)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
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


class ReplayCollector(Collector):
    """product_dead_letter_replays_total{topic}: replay records in the database (retention
    deletes them with their dead letter, which Prometheus sees as a counter reset)."""

    def __init__(self, replays_by_topic: Callable[[], dict[str, int]]) -> None:
        self._replays_by_topic = replays_by_topic

    def collect(self) -> Iterator[CounterMetricFamily]:
        try:
            counts = self._replays_by_topic()
        except Exception:  # database down: report nothing rather than fail the scrape
            return
        family = CounterMetricFamily(
            "product_dead_letter_replays_total",
            "Dead letters replayed, by original topic",
            labels=["topic"],
        )
        for topic, count in sorted(counts.items()):
            family.add_metric([topic], count)
        yield family


def register_outbox(
    registry: CollectorRegistry, backlog: Callable[[], Backlog], now: Callable[[], datetime]
) -> None:
    registry.register(OutboxCollector(backlog, now))


def register_replays(
    registry: CollectorRegistry, replays_by_topic: Callable[[], dict[str, int]]
) -> None:
    registry.register(ReplayCollector(replays_by_topic))
