"""Adapters that speak to the Dapr sidecar: publishing, locks."""
