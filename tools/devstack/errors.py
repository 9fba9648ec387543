"""The one error devstack raises: a process that would not start, with its log tail."""

from __future__ import annotations

from pathlib import Path


class DevstackError(RuntimeError):
    pass


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def with_logs(message: str, *logs: Path) -> DevstackError:
    """An error whose text ends with the tail of each log, named by its path."""
    parts = [message]
    for path in logs:
        parts.append(f"--- last lines of {path} ---\n{log_tail(path)}")
    return DevstackError("\n".join(parts))
