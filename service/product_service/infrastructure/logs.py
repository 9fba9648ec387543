"""Structured logs: one JSON object per line, with trace id, span id and order id when known.

The order id comes from a context variable that the message and API handlers set while they
work on an order, so every line written meanwhile (also from deep inside SQLAlchemy) names it.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

current_order_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "current_order_id", default=None
)

TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s order=%(order_id)s] %(message)s"
)
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(threadName)s %(message)s"


@contextmanager
def about_order(order_id: int) -> Iterator[None]:
    token = current_order_id.set(order_id)
    try:
        yield
    finally:
        current_order_id.reset(token)


class TraceContextFilter(logging.Filter):
    """Adds trace_id, span_id and order_id to every record (empty strings when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else ""
        record.span_id = format(context.span_id, "016x") if context.is_valid else ""
        if not hasattr(record, "order_id"):
            order_id = current_order_id.get()
            record.order_id = "" if order_id is None else order_id
        return True


def configure_logging(level: str, log_format: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(TraceContextFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
