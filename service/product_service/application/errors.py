"""Errors raised by ports: the application decides what each means for the caller."""

from __future__ import annotations


class DuplicateOperation(Exception):
    """The inbox already holds this (order, operation): someone else recorded it first."""


class TransientError(Exception):
    """Worth retrying later: the store is unreachable, a deadlock, a lock held elsewhere."""


class ConcurrentOperation(TransientError):
    """Another operation on the same order committed while this one ran."""


class LockHeld(TransientError):
    """Another owner holds the lock for this resource."""
