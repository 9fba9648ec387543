"""A stand-in for the order service: publishes paid orders, records outcome events, calls
ProductService through its own Dapr sidecar. Product code never imports it."""

from order_simulator.client import OrderSimulator
from order_simulator.received import Received

__all__ = ["OrderSimulator", "Received"]
