"""The wire contract: modules generated from proto/ by the build (contract/product/; the Go
services' go-micro format in contract/legacy/), the topic names (topics.py, legacy_wire.py) and the
ranges of the protobuf scalars (scalars.py)."""
