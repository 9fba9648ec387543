"""Errors raised by ports: the application decides what each means for the caller."""

from __future__ import annotations


class DuplicateOperation(Exception):
    """The inbox already holds this (order, operation): someone else recorded it first."""


class TransientError(Exception):
    """Worth retrying later: the store is unreachable, a deadlock, a lock held elsewhere."""


class ConcurrentOperation(TransientError):
    """Another operation on the same order committed while this one ran."""


class StoreRejected(Exception):
    """The database refused a statement for a reason retrying will not fix (a bug or bad data
    that slipped past validation): the operation is abandoned and nothing is written."""


class LockHeld(TransientError):
    """Another owner holds the lock for this resource."""
