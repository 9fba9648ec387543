"""One rule for missing infrastructure: skip on a developer's machine, fail under CI."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def unavailable(service: str, reason: str) -> None:
    """Skip locally, fail under CI; either way name the service and how to start it."""
    message = f"{service} not reachable: {reason} (start it with `scripts/infra up {service}`)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def answering(engine: Engine, url: str) -> Engine:
    """The engine once the database answers; else disposed and the test skipped (failed
    under CI)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        unavailable("mariadb", f"{url}: {exc.orig}")
    return engine
