"""Prometheus metrics, exposed on the HTTP listener's /metrics.

Names start with `product_`. Counters only go up. The outbox backlog gauges are read from the
database at scrape time (`outbox_gauges.py`), so they are right even after a restart. The
retention gauges are set by the replica holding the retention lease, after each pass.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

MESSAGES = Counter(
    "product_messages_total",
    "Deliveries from the sidecar by topic and the answer given (success, drop, retry)",
    ["topic", "answer"],
)
OUTCOMES = Counter(
    "product_outcomes_total",
    "Decided operations by operation, outcome and failure reason (duplicates not counted)",
    ["operation", "outcome", "reason"],
)
DUPLICATES = Counter(
    "product_duplicates_total",
    "Operations that an earlier delivery or call had already decided",
    ["operation"],
)
HANDLER_SECONDS = Histogram(
    "product_handler_seconds",
    "Time to handle one delivery (a bulk delivery counts once), by topic",
    ["topic"],
    buckets=LATENCY_BUCKETS,
)
BULK_ENTRIES = Histogram(
    "product_bulk_delivery_entries",
    "Messages per bulk delivery from the sidecar, by topic (one transaction each)",
    ["topic"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
TRANSACTION_SECONDS = Histogram(
    "product_transaction_seconds",
    "Time of one deduct or revert use case, or of one bulk delivery's, locks and commit included",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
API_REQUESTS = Counter(
    "product_api_requests_total",
    "ProductService calls by method and status code",
    ["method", "code"],
)
DEAD_LETTERS = Counter(
    "product_dead_letters_total",
    "Dead letters recorded (each once), by the topic they were meant for and the reason",
    ["topic", "reason"],
)
LEGACY_IGNORED = Counter(
    "product_legacy_ignored_total",
    "Records on a legacy (go-micro) topic of an event type not for this service: acknowledged"
    " and left alone, by topic and event type",
    ["topic", "event_type"],
)
PUBLISHED = Counter(
    "product_outbox_published_total", "Outcome events the sidecar accepted, by path", ["path"]
)
PUBLISH_FAILURES = Counter(
    "product_outbox_publish_failures_total", "Publishes the sidecar did not accept", ["path"]
)
SWEEPER_REPUBLISHED = Counter(
    "product_sweeper_republished_total", "Events the sweeper published after a crash left them"
)
LOCKS = Counter(
    "product_lock_acquisitions_total",
    "Dapr lock attempts by kind (order, sweeper_lease, retention_lease) and result (acquired,"
    " refused, store_unavailable)",
    ["kind", "result"],
)
DATABASE_ERRORS = Counter(
    "product_database_errors_total",
    "Database errors by kind (transient: retried later; rejected: not retried)",
    ["kind"],
)
RETENTION_DELETED = Counter(
    "product_retention_deleted_total", "Rows retention deleted, by table", ["table"]
)
RETENTION_LAST_RUN = Gauge(
    "product_retention_last_run_timestamp_seconds",
    "Unix time of this replica's last retention pass that left nothing due (0: none yet)",
)
RETENTION_OLDEST_KEPT = Gauge(
    "product_retention_oldest_kept_seconds",
    "Age of the oldest row left by the last retention pass, by table (outbox: published rows"
    " only; 0: none)",
    ["table"],
)
LEASE_HELD = Gauge(
    "product_lease_held",
    "1 while this replica holds the lease of a once-per-cluster job (sweeper, retention);"
    " summed over the replicas at most 1 per lease",
    ["lease"],
)
PARTITION_MESSAGES = Counter(
    "product_partition_messages_total",
    "Messages delivered to this replica by topic and Kafka partition: the partitions it holds"
    " (a held partition without traffic does not show)",
    ["topic", "partition"],
)
