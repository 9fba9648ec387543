"""Inventory deduction for paid orders beside a Dapr sidecar."""

__version__ = "0.1.0"
