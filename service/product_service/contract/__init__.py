"""The wire contract: Python modules generated from proto/ by the build (contract/product/)."""
