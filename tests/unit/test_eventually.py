"""`eventually`: polls an assertion until it holds, and fails with its last message."""

from __future__ import annotations

import pytest

from tests.eventually import eventually


def test_returns_what_the_check_returns_once_it_stops_failing() -> None:
    calls: list[int] = []

    def third_time_lucky() -> str:
        calls.append(1)
        assert len(calls) >= 3, f"only {len(calls)} calls"
        return "settled"

    assert eventually(third_time_lucky, timeout=5, interval=0.01) == "settled"
    assert len(calls) == 3


def test_raises_the_checks_last_failure_after_the_deadline() -> None:
    seen: list[int] = []

    def never() -> None:
        seen.append(len(seen))
        raise AssertionError(f"attempt {len(seen)}")

    with pytest.raises(AssertionError, match=r"still failing after 0.05s: attempt \d+") as info:
        eventually(never, timeout=0.05, interval=0.01)
    assert str(info.value).endswith(f"attempt {len(seen)}")
    assert len(seen) >= 2


def test_other_errors_are_not_waited_out() -> None:
    def broken() -> None:
        raise KeyError("not an assertion")

    with pytest.raises(KeyError):
        eventually(broken, timeout=5, interval=0.01)
