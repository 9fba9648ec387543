"""The wire contract: modules generated from proto/ by the build (contract/product/), the
contract's topic names (topics.py) and the ranges of its protobuf scalars (scalars.py)."""
