"""SQL spans only where the trace is recorded: the SQLAlchemy instrumentation asks
is_instrumentation_enabled() before each statement."""

from __future__ import annotations

from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

from product_service.infrastructure.telemetry import statements_traced_in


def instrumented_inside_a_span_of(provider: TracerProvider) -> bool:
    with provider.get_tracer("test").start_as_current_span("delivery") as span:
        with statements_traced_in(span):
            return is_instrumentation_enabled()


def test_statements_of_a_recorded_trace_get_spans() -> None:
    assert instrumented_inside_a_span_of(TracerProvider(sampler=ALWAYS_ON))


def test_statements_of_a_trace_left_out_by_the_sampler_get_none() -> None:
    assert not instrumented_inside_a_span_of(TracerProvider(sampler=ALWAYS_OFF))
    assert is_instrumentation_enabled()  # and only inside
