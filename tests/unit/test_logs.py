"""JSON log lines carry the trace, the span and the order they are about."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from product_service.infrastructure.logs import about_order, configure_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def last_line(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    line: dict[str, object] = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    return line


def test_a_line_about_an_order_names_the_order_the_trace_and_the_span(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("handler") as span, about_order(1001):
        logging.getLogger("product_service.test").info("deducted %d lines", 3)
        context = span.get_span_context()

    line = last_line(capsys)
    assert line["message"] == "deducted 3 lines"
    assert line["level"] == "INFO"
    assert line["order_id"] == 1001
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")


def test_a_line_outside_any_order_or_trace_leaves_those_fields_empty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")

    logging.getLogger("product_service.test").info("starting")

    line = last_line(capsys)
    assert (line["order_id"], line["trace_id"], line["span_id"]) == ("", "", "")


def test_the_level_setting_filters_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING", "json")

    logging.getLogger("product_service.test").info("hidden")
    logging.getLogger("product_service.test").warning("shown")

    lines = [json.loads(raw) for raw in capsys.readouterr().err.strip().splitlines()]
    assert [line["message"] for line in lines] == ["shown"]
