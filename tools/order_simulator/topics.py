"""Topic names of the event contract (README "Event contract"), optionally made per-run.

On a shared Kafka every product service consumes every OnPaymentSuccess; a stack that must not
see other runs' traffic gives all its topics a suffix. Records and calls keep using the contract
names; `wire` translates them to what is actually on the broker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PAYMENT_SUCCESS = "OnPaymentSuccess"
DEDUCT_SUCCESS = "OnInventoryDeductSuccess"
DEDUCT_FAILED = "OnInventoryDeductFailed"
DEDUCT_SUCCESS_DLQ = "OnInventoryDeductSuccessDLQ"
REVERTED = "OnInventoryReverted"
OUTCOMES = (DEDUCT_SUCCESS, DEDUCT_FAILED, REVERTED)
ALL = (PAYMENT_SUCCESS, DEDUCT_SUCCESS, DEDUCT_FAILED, DEDUCT_SUCCESS_DLQ, REVERTED)
# The Go order service's go-micro topics (the legacy bridge, docs/migration.md): per-run too.
LEGACY = ("OrderEvent", "ProductEvent", "OrderEventDLQ", "ProductEventDLQ")
DEAD_LETTER_SUFFIX = ".dead-letter"
SUFFIX_ENV = "SIMULATOR_TOPIC_SUFFIX"


@dataclass(frozen=True)
class Topics:
    suffix: str = ""

    def wire(self, topic: str) -> str:
        """The broker's name for a contract or legacy topic (other names pass through). A legacy
        topic gets the run's name as a prefix instead, as tools/legacy_peer --topic-prefix
        names them."""
        if not self.suffix:
            return topic
        if topic in LEGACY:
            return self.legacy_prefix + topic
        return f"{topic}.{self.suffix}" if topic in ALL else topic

    @property
    def legacy_prefix(self) -> str:
        return f"{self.suffix}-" if self.suffix else ""

    def contract(self, wire_name: str) -> str:
        """The contract name of a broker topic."""
        for topic in ALL:
            if self.wire(topic) == wire_name:
                return topic
        return wire_name

    @classmethod
    def from_env(cls) -> Topics:
        return cls(os.environ.get(SUFFIX_ENV, ""))
