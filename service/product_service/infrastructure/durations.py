"""Durations in settings: `7d`, `12h`, `1d12h`, `90m`, a number of seconds, or ISO 8601 `P7D`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError

UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_SHORT = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?")
_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_PYDANTIC = TypeAdapter(timedelta)
FORMATS = "7d, 12h, 1d12h, 90m, a number of seconds, or ISO 8601 such as P7D or PT12H"


def parse_duration(value: object) -> object:
    """The short forms and plain seconds; other strings as pydantic reads them (ISO 8601,
    `[D days, ]HH:MM:SS`). From the environment every value is a string, and pydantic alone
    refuses "604800"."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if _SECONDS.fullmatch(text):
        return timedelta(seconds=float(text))
    match = _SHORT.fullmatch(text)
    if text and match:
        amounts = (float(amount or 0) for amount in match.groups())
        return timedelta(seconds=sum(a * s for a, s in zip(amounts, UNITS.values(), strict=True)))
    try:
        return _PYDANTIC.validate_python(value)
    except ValidationError:
        raise ValueError(f"not a duration: {value!r}; use {FORMATS}") from None


def format_duration(duration: timedelta) -> str:
    """The short form, largest units first, without weeks: 14d0h15m -> "14d15m"."""
    rest = int(duration.total_seconds())
    parts = []
    for unit, seconds in list(UNITS.items())[1:]:
        amount, rest = divmod(rest, seconds)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


# A positive duration setting.
Duration = Annotated[timedelta, BeforeValidator(parse_duration), Field(gt=timedelta(0))]
