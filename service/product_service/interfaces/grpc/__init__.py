"""The Dapr app channel: topic subscriptions and the native ProductService."""
