"""Tracing: continues the W3C trace context that the sidecar hands over, exports over OTLP.

Off unless PRODUCT_OTEL_ENDPOINT is set; then spans go to that OTLP gRPC endpoint (Jaeger, a
collector). The sampling decision follows the parent (the sidecar's Configuration decides), so
one trace runs from the order service's publish through both sidecars, our handler, our SQL and
our outcome publish.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from sqlalchemy import Engine

TRACER_NAME = "product_service"
TRACEPARENT = "traceparent"


def configure_tracing(
    service_name: str, endpoint: str | None, root_sample_ratio: float, engine: Engine
) -> TracerProvider | None:
    """Installs the global tracer provider and SQL spans; returns None when tracing is off."""
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(root_sample_ratio)),
    )
    insecure = not endpoint.startswith("https://")
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint, insecure=insecure)))
    trace.set_tracer_provider(provider)
    SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=provider)
    return provider


@contextmanager
def untraced_statements() -> Iterator[None]:
    """For background threads (outbox relay, sweeper): their SQL has no parent span, so each
    statement would start a trace of its own, several per pass, many a second under load. Their
    publish spans still continue the trace of the transaction that wrote the row."""
    with suppress_instrumentation():
        yield


@contextmanager
def statements_traced_in(span: trace.Span) -> Iterator[None]:
    """SQL spans only under a span that is recorded. In a trace the sampler left out, every
    statement would still make a span that nobody keeps, at a cost per statement that was most
    of a lone order's tracing time (issue 16's profile at 50 orders/s)."""
    if span.is_recording():
        yield
    else:
        with suppress_instrumentation():
            yield


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def context_from_traceparent(traceparent: str | None) -> Context | None:
    """The remote parent carried by a `traceparent` value; None when there is none."""
    if not traceparent:
        return None
    return propagate.extract({TRACEPARENT: traceparent})


def context_from_metadata(metadata: Iterable[tuple[str, str | bytes]]) -> Context | None:
    """The remote parent from gRPC invocation metadata (what daprd sends on every call)."""
    for key, value in metadata:
        if key.lower() == TRACEPARENT and isinstance(value, str):
            return context_from_traceparent(value)
    return None


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to store with an outbox row."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


def traced_metadata(carrier: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """gRPC metadata that carries the current trace context to the sidecar."""
    headers = dict(carrier or {})
    propagate.inject(headers)
    return list(headers.items())
