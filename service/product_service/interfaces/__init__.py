"""Entry points: the CLI, and later the Dapr gRPC app channel and the HTTP listener."""
