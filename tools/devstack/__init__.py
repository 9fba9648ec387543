"""Start the product service, the order simulator and their daprd sidecars for tests and demos.

    with Stack(profile="embedded", run_dir=path) as stack:
        product = stack.start_product()

Every process gets free loopback ports, its log in run_dir, and is stopped when the block ends.
"""

from devstack.errors import DevstackError
from devstack.gate import Gate
from devstack.process import App
from devstack.sidecar import Sidecar
from devstack.stack import PROFILES, Stack

__all__ = ["PROFILES", "App", "DevstackError", "Gate", "Sidecar", "Stack"]
