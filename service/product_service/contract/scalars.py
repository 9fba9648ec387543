"""Ranges of the protobuf scalar types in proto/, for the readers and writers that bypass the
protobuf JSON codec: they must accept exactly what it accepts (interfaces/messages.py in,
infrastructure/outbox_codec.py out). Wire facts, not the domain's limits (domain/limits.py)."""

from __future__ import annotations

# Exclusive upper bounds; a signed type's lower bound is the negated bound.
INT64_END = 2**63
INT32_END = 2**31
UINT32_END = 2**32
